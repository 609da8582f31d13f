using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>√x.</summary>
public sealed class Sqrt : UnaryElementwiseOp<Sqrt.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Sqrt";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 4;

    /// <summary>g / (2y), as PyTorch.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Div(c.GradOutput, c.B.ScaleBy(c.Outputs[0], 2))];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => MathF.Sqrt(x);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Sqrt(x, d);
    }
}
