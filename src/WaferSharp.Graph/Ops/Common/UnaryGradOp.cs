using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Base of fused backward ops of unary activations: inputs (x, g) of one shape, output dL/dx = g·f'(x).
/// One pass instead of a chain of elementwise nodes, and the derivative is evaluated in one precision.
/// </summary>
public abstract class UnaryGradOp : OpDef
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <summary>d[i] = g[i]·f'(x[i]).</summary>
    protected abstract void Compute(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> d, Attrs attrs);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (x, g) = (inputs[0], inputs[1]);
        if (!x.DType.IsFloating() || x != g) throw new ShapeException($"{Name}: x and g must be the same floating type, got {x} and {g}");
        return [x];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var o = DenseTensor.Zeros(outputTypes[0].Shape);
        var x = (float[])inputs[0].Storage;
        var g = (float[])inputs[1].Storage;
        var d = (float[])o.Storage;
        ParallelChunks.For(d.Length, (s, n) => Compute(x.AsSpan(s, n), g.AsSpan(s, n), d.AsSpan(s, n), attrs));
        return [o];
    }
}
