using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>1/x.</summary>
public sealed class Reciprocal : UnaryElementwiseOp<Reciprocal.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Reciprocal";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 1;

    /// <summary>-g·y².</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Neg(c.B.Mul(c.GradOutput, c.B.Mul(c.Outputs[0], c.Outputs[0])))];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => 1f / x;
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Reciprocal(x, d);
    }
}
