using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>The error function (accurate to float32; see <see cref="ErfFunction"/>).</summary>
public sealed class Erf : UnaryElementwiseOp<Erf.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Erf";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 20;

    /// <summary>g·(2/√π)·e^(-x²).</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Mul(c.GradOutput, c.B.ScaleBy(c.B.Op("Exp", c.B.Neg(c.B.Mul(c.X(0), c.X(0)))), 1.1283791670955126))];

    /// <summary>Scalar kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => (float)ErfFunction.Erf(x);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => ErfFunction.Span(x, d);
    }
}
