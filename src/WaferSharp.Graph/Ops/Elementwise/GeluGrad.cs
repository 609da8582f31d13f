using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Backward of <see cref="Gelu"/>: inputs (x, g), attribute <c>approximate</c>. "none": g·(Φ(x) + x·φ(x));
/// "tanh": g·(½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715x²)), t = tanh(√(2/π)(x + 0.044715x³)) — PyTorch's formulas.
/// </summary>
public sealed class GeluGrad : UnaryGradOp
{
    private const double InvSqrt2Pi = 0.39894228040143267794; // 1/√(2π)

    /// <inheritdoc/>
    public override string Name => "GeluGrad";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 30;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        Gelu.IsTanh(attrs);
        return base.InferTypes(inputs, attrs);
    }

    /// <inheritdoc/>
    protected override void Compute(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> d, Attrs attrs)
    {
        GeluKernels.Backward(x, g, d, Gelu.IsTanh(attrs));
    }
}
