using WaferSharp.Tensors;

namespace WaferSharp.Graph;

/// <summary>How an op behaves, for fusion, the compiler's kernel choice and the GPU planner.</summary>
public enum OpKind
{
    /// <summary>Pointwise over (broadcast) inputs: fusable into chains.</summary>
    Elementwise,
    /// <summary>Reduces one or more axes.</summary>
    Reduction,
    /// <summary>Matrix multiply family (MatMul, Linear).</summary>
    Contraction,
    /// <summary>Moves or reinterprets data without arithmetic (Reshape, Transpose, Slice, Concat…).</summary>
    Layout,
    /// <summary>Normalization / softmax style row ops.</summary>
    Normalization,
    /// <summary>Index-driven data movement (Gather, Embedding).</summary>
    Indexing,
    /// <summary>Losses.</summary>
    Loss,
    /// <summary>Anything else.</summary>
    Other,
}

/// <summary>Work and traffic of one op instance, for the compiler's and GPU planner's cost models.</summary>
/// <param name="Flops">Floating-point operations (a multiply-add counts 2).</param>
/// <param name="BytesRead">Bytes read from memory (each input once).</param>
/// <param name="BytesWritten">Bytes written (each output once).</param>
public readonly record struct OpCost(long Flops, long BytesRead, long BytesWritten)
{
    /// <summary>Sum of two costs.</summary>
    public static OpCost operator +(OpCost a, OpCost b) => new(a.Flops + b.Flops, a.BytesRead + b.BytesRead, a.BytesWritten + b.BytesWritten);
}

/// <summary>
/// One operator, defined in one place: its type rule, reference CPU kernel, gradient rule (in graph ops)
/// and cost. Subclasses live one per file in <c>Ops/</c>; the registry finds them at start-up.
/// </summary>
public abstract class OpDef
{
    /// <summary>Registry name (PascalCase, e.g. "MatMul").</summary>
    public abstract string Name { get; }

    /// <summary>Category, for fusion and cost models.</summary>
    public virtual OpKind Kind => OpKind.Other;

    /// <summary>
    /// True when the reference kernel computes in float32 only: the executor then hands it float32 copies
    /// of bf16/f16 inputs and rounds float outputs back to the inferred dtype ("storage in 16 bits,
    /// arithmetic in float32").
    /// </summary>
    public virtual bool ComputesInFloat32 => true;

    /// <summary>False for ops whose result depends on more than inputs and attributes (none today; Dropout is seeded by attribute).</summary>
    public virtual bool IsPure => true;

    /// <summary>Number of inputs accepted: (min, max); max = int.MaxValue for variadic ops.</summary>
    public virtual (int Min, int Max) Arity => (1, 1);

    /// <summary>Static shape and dtype rule. Throws <see cref="ShapeException"/> naming the shapes on mismatch.</summary>
    public abstract TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs);

    /// <summary>Reference CPU kernel. Inputs are float32 for <see cref="ComputesInFloat32"/> ops whose declared inputs are floating.</summary>
    public abstract DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes);

    /// <summary>
    /// Like <see cref="Execute"/>, but inputs flagged in <paramref name="donated"/> are dead after this op, so
    /// the kernel may overwrite them and return them as outputs (the optimizer update does, to avoid a second
    /// copy of every parameter and moment). The default ignores the offer.
    /// </summary>
    public virtual DenseTensor[] ExecuteDonated(IReadOnlyList<DenseTensor> inputs, bool[] donated, Attrs attrs, TensorType[] outputTypes) =>
        Execute(inputs, attrs, outputTypes);

    /// <summary>
    /// Gradient rule: given the upstream gradients of the outputs (null where none flows), emit graph ops that
    /// compute the gradient of each input (null where the input is not differentiable).
    /// </summary>
    public virtual Value?[] Gradient(GradContext ctx) =>
        throw new NotSupportedException($"op {Name} has no gradient rule; it cannot appear on a path to the loss");

    /// <summary>FLOPs per output element for the default cost rule.</summary>
    protected virtual double FlopsPerElement => 1;

    /// <summary>Cost of one instance: default is elementwise (FlopsPerElement per output element, each input read once).</summary>
    public virtual OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs)
    {
        long read = 0, written = 0, n = 0;
        foreach (var t in inputs) read += t.Bytes;
        foreach (var t in outputs) { written += t.Bytes; n += t.Numel; }
        return new OpCost((long)(n * FlopsPerElement), read, written);
    }

    /// <summary>Checks the input count, with a clear message.</summary>
    protected void CheckArity(IReadOnlyList<TensorType> inputs)
    {
        var (min, max) = Arity;
        if (inputs.Count < min || inputs.Count > max)
            throw new ShapeException($"{Name} takes {(min == max ? min.ToString() : $"{min}..{(max == int.MaxValue ? "n" : max.ToString())}")} inputs, got {inputs.Count}");
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>A shape or dtype rule was violated; the message names the op and the shapes.</summary>
public sealed class ShapeException(string message) : ArgumentException(message);
