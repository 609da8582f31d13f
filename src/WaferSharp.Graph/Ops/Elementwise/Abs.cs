using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>|x|.</summary>
public sealed class Abs : UnaryElementwiseOp<Abs.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Abs";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 1;

    /// <summary>g·sign(x) (0 at x = 0, as PyTorch).</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Mul(c.GradOutput, c.B.Op("Sign", c.X(0)))];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => MathF.Abs(x);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Abs(x, d);
    }
}
