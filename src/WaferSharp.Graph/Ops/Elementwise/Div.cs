using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// a / b with NumPy broadcasting. Integers divide truncating toward zero (ONNX Div, C semantics; PyTorch's
/// floor division differs for negative operands); integer division by zero throws.
/// </summary>
public sealed class Div : BinaryElementwiseOp<Div.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Div";
    /// <inheritdoc/>
    protected override bool SupportsIntegers => true;
    /// <inheritdoc/>
    protected override long ApplyLong(long a, long b) =>
        b == 0 ? throw new DivideByZeroException("Div: integer division by zero") : b == -1 ? unchecked(-a) : a / b;
    /// <inheritdoc/>
    protected override double FlopsPerElement => 4;

    /// <summary>d(a/b) = (g/b, -g·a/b²); the latter written as -(g/b)·(a/b) to reuse g/b and avoid overflowing b².</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var (bld, g, a, b) = (c.B, c.GradOutput, c.X(0), c.X(1));
        var gOverB = bld.Div(g, b);
        var gb = bld.Neg(bld.Mul(gOverB, c.Outputs[0]));
        return [bld.SumTo(gOverB, a.Shape), bld.SumTo(gb, b.Shape)];
    }

    /// <summary>Vectorized float kernel.</summary>
    public struct Kernel : IBinaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float a, float b) => a / b;
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
        /// <inheritdoc/>
        public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
        /// <inheritdoc/>
        public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
    }
}
