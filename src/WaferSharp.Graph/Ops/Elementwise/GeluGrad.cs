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
        if (Gelu.IsTanh(attrs))
        {
            for (int i = 0; i < d.Length; i++)
            {
                double v = x[i], v2 = v * v;
                double t = Math.Tanh(Gelu.Beta * (v + Gelu.Kappa * v2 * v));
                double dy = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * Gelu.Beta * (1 + 3 * Gelu.Kappa * v2);
                d[i] = (float)(g[i] * dy);
            }
        }
        else
        {
            for (int i = 0; i < d.Length; i++)
            {
                double v = x[i];
                double cdf = 0.5 * (1 + ErfFunction.Erf(v * Gelu.SqrtHalf));
                double pdf = Math.Exp(-0.5 * v * v) * InvSqrt2Pi;
                d[i] = (float)(g[i] * (cdf + v * pdf));
            }
        }
    }
}
