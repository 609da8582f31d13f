using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>max(x, 0).</summary>
public sealed class Relu : UnaryElementwiseOp<Relu.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Relu";

    /// <summary>g * (x &gt; 0), written as g * (y &gt; 0) cast to float.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var b = c.B;
        var mask = b.Cast(b.Op("Greater", c.Outputs[0], b.Scalar(0, c.X(0).DType)), c.X(0).DType);
        return [b.Mul(c.GradOutput, mask)];
    }

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => x > 0 ? x : 0;
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Max(x, 0f, d);
    }
}
