using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>-x.</summary>
public sealed class Neg : UnaryElementwiseOp<Neg.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Neg";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 1;

    /// <summary>-g.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Neg(c.GradOutput)];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => -x;
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Negate(x, d);
    }
}
