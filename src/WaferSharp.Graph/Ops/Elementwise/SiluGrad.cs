using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Backward of <see cref="Silu"/>: inputs (x, g), output g·s·(1 + x·(1 - s)) with s = sigmoid(x).</summary>
public sealed class SiluGrad : UnaryGradOp
{
    /// <inheritdoc/>
    public override string Name => "SiluGrad";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 14;

    /// <inheritdoc/>
    protected override void Compute(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> d, Attrs attrs)
    {
        for (int i = 0; i < d.Length; i++)
        {
            float xi = x[i];
            float s = 1f / (1f + MathF.Exp(-xi));
            d[i] = g[i] * (s * (1f + xi * (1f - s)));
        }
    }
}
