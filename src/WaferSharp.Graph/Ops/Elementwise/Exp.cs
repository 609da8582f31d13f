using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>eˣ.</summary>
public sealed class Exp : UnaryElementwiseOp<Exp.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Exp";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 8;

    /// <summary>g·y.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Mul(c.GradOutput, c.Outputs[0])];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => MathF.Exp(x);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Exp(x, d);
    }
}
