using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>x·sigmoid(x) (SiLU / swish).</summary>
public sealed class Silu : UnaryElementwiseOp<Silu.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Silu";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 12;

    /// <summary>Fused <see cref="SiluGrad"/>: g·s·(1 + x·(1 - s)), s = sigmoid(x).</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Op("SiluGrad", c.X(0), c.GradOutput)];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => x / (1f + MathF.Exp(-x));
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d)
        { TensorPrimitives.Sigmoid(x, d); TensorPrimitives.Multiply(x, d, d); }
    }
}
