using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>1 / (1 + e⁻ˣ).</summary>
public sealed class Sigmoid : UnaryElementwiseOp<Sigmoid.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Sigmoid";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 10;

    /// <summary>g·y·(1 - y).</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Mul(c.GradOutput, c.B.Mul(c.Outputs[0], c.B.RSub(1, c.Outputs[0])))];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => 1f / (1f + MathF.Exp(-x));
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Sigmoid(x, d);
    }
}
