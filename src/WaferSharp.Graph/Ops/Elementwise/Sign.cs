using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>sign(x): -1, 0 or 1 (NaN stays NaN).</summary>
public sealed class Sign : UnaryElementwiseOp<Sign.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Sign";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 1;

    /// <summary>Zero almost everywhere.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.ZerosLike(c.X(0))];

    /// <summary>Scalar kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => x > 0 ? 1f : x < 0 ? -1f : x;
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => UnaryLoop.Run<Kernel>(x, d);
    }
}
