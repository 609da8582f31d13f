using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>Elementwise min(a, b) with broadcasting (torch.minimum: NaN propagates); float, int32, int64.</summary>
public sealed class Minimum : BinaryElementwiseOp<Minimum.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Minimum";
    /// <inheritdoc/>
    protected override bool SupportsIntegers => true;
    /// <inheritdoc/>
    protected override long ApplyLong(long a, long b) => Math.Min(a, b);

    /// <summary>g to the smaller operand, half to each on ties.</summary>
    public override Value?[] Gradient(GradContext c) => MinMaxGradient.Rule(c, "Less");

    /// <summary>Vectorized float kernel.</summary>
    public struct Kernel : IBinaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float a, float b) => MathF.Min(a, b);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Min(a, b, d);
        /// <inheritdoc/>
        public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Min(a, b, d);
        /// <inheritdoc/>
        public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Min(b, a, d);
    }
}
