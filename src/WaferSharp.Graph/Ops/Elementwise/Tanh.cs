using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>tanh x.</summary>
public sealed class Tanh : UnaryElementwiseOp<Tanh.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Tanh";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 10;

    /// <summary>g·(1 - y²).</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Mul(c.GradOutput, c.B.RSub(1, c.B.Mul(c.Outputs[0], c.Outputs[0])))];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => MathF.Tanh(x);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Tanh(x, d);
    }
}
