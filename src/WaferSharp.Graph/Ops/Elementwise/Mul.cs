using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>a * b with NumPy broadcasting (float, int32, int64).</summary>
public sealed class Mul : BinaryElementwiseOp<Mul.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Mul";
    /// <inheritdoc/>
    protected override bool SupportsIntegers => true;
    /// <inheritdoc/>
    protected override long ApplyLong(long a, long b) => unchecked(a * b);

    /// <summary>d(a·b) = (g·b, g·a), summed back over broadcast axes.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var (bld, g, a, b) = (c.B, c.GradOutput, c.X(0), c.X(1));
        return [bld.SumTo(bld.Mul(g, b), a.Shape), bld.SumTo(bld.Mul(g, a), b.Shape)];
    }

    /// <summary>Vectorized float kernel.</summary>
    public struct Kernel : IBinaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float a, float b) => a * b;
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Multiply(a, b, d);
        /// <inheritdoc/>
        public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Multiply(a, b, d);
        /// <inheritdoc/>
        public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Multiply(b, a, d);
    }
}
