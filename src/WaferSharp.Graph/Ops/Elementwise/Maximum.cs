using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>Elementwise max(a, b) with broadcasting (torch.maximum: NaN propagates); float, int32, int64.</summary>
public sealed class Maximum : BinaryElementwiseOp<Maximum.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Maximum";
    /// <inheritdoc/>
    protected override bool SupportsIntegers => true;
    /// <inheritdoc/>
    protected override long ApplyLong(long a, long b) => Math.Max(a, b);

    /// <summary>g to the larger operand, half to each on ties.</summary>
    public override Value?[] Gradient(GradContext c) => MinMaxGradient.Rule(c, "Greater");

    /// <summary>Vectorized float kernel.</summary>
    public struct Kernel : IBinaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float a, float b) => MathF.Max(a, b);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Max(a, b, d);
        /// <inheritdoc/>
        public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Max(a, b, d);
        /// <inheritdoc/>
        public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Max(b, a, d);
    }
}
