using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Base of ops that transform each row along one axis {axis} (default -1) with a row kernel: Softmax and
/// LogSoftmax (one input) and their fused backward ops (inputs y, g of one type). Subclasses give the kernel,
/// the backward op and the FLOPs per element.
/// </summary>
public abstract class RowOp : OpDef
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Normalization;
    /// <summary>Number of same-typed inputs (1 forward, 2 backward).</summary>
    protected abstract int Inputs { get; }
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (Inputs, Inputs);
    /// <summary>The row kernel (second span unused for one-input ops).</summary>
    private protected abstract RowKernel Row { get; }
    /// <summary>Name of the fused backward op taking (y, g), or null when not differentiable.</summary>
    protected virtual string? GradOp => null;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        RowKernels.CheckFloat(Name, inputs[0]);
        if (inputs.Count == 2 && inputs[0] != inputs[1]) throw new ShapeException($"{Name}: y {inputs[0]} and gradient {inputs[1]} differ");
        RowKernels.Axis(Name, inputs[0].Shape, attrs.GetInt("axis", -1));
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        var o = DenseTensor.Uninitialized(x.Shape);
        RowKernels.Run((float[])x.Storage, inputs.Count == 2 ? (float[])inputs[1].Storage : null, (float[])o.Storage, x.Shape, x.Shape.Axis(attrs.GetInt("axis", -1)), Row);
        return [o];
    }

    /// <summary>The fused backward op on (y, g).</summary>
    public override Value?[] Gradient(GradContext c) => GradOp is { } g
        ? [c.B.Op(g, c.Attrs, c.Outputs[0], c.GradOutput)]
        : base.Gradient(c);
}
