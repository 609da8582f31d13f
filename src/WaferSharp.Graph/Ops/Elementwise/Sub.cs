using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>a - b with NumPy broadcasting (float, int32, int64).</summary>
public sealed class Sub : BinaryElementwiseOp<Sub.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Sub";
    /// <inheritdoc/>
    protected override bool SupportsIntegers => true;
    /// <inheritdoc/>
    protected override long ApplyLong(long a, long b) => unchecked(a - b);

    /// <summary>d(a-b) = (g, -g), summed back over broadcast axes.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var g = c.GradOutput;
        return [c.B.SumTo(g, c.X(0).Shape), c.B.SumTo(c.B.Neg(g), c.X(1).Shape)];
    }

    /// <summary>Vectorized float kernel.</summary>
    public struct Kernel : IBinaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float a, float b) => a - b;
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Subtract(a, b, d);
        /// <inheritdoc/>
        public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Subtract(a, b, d);
        /// <inheritdoc/>
        public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Subtract(a, b, d);
    }
}
