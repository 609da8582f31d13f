using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>1/√x.</summary>
public sealed class Rsqrt : UnaryElementwiseOp<Rsqrt.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Rsqrt";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 4;

    /// <summary>-½·g·y³, as PyTorch.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Mul(c.GradOutput, c.B.Mul(c.B.ScaleBy(c.Outputs[0], -0.5), c.B.Mul(c.Outputs[0], c.Outputs[0])))];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => 1f / MathF.Sqrt(x);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.ReciprocalSqrt(x, d);
    }
}
