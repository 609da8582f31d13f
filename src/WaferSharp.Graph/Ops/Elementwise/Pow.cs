using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>a ** b (float) with NumPy broadcasting.</summary>
public sealed class Pow : BinaryElementwiseOp<Pow.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Pow";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 10;

    /// <summary>
    /// da = g·b·a^(b-1) (0 where b = 0), db = g·a^b·ln a (0 where a = 0 and b ≥ 0): PyTorch's masks, which keep
    /// 0·∞ from turning into NaN at a = 0.
    /// </summary>
    public override Value?[] Gradient(GradContext c)
    {
        var (bld, g, a, b, y) = (c.B, c.GradOutput, c.X(0), c.X(1), c.Outputs[0]);
        var dt = a.DType;
        var zero = bld.Scalar(0, dt);
        var da = bld.Mul(g, bld.Mul(b, bld.Op("Pow", a, bld.Sub(b, bld.Scalar(1, dt)))));
        da = bld.Op("Where", bld.Op("Equal", b, zero), zero, da);
        var db = bld.Mul(g, bld.Mul(y, bld.Op("Log", a)));
        var aZero = bld.Op("And", bld.Op("Equal", a, zero), bld.Op("GreaterEqual", b, zero));
        db = bld.Op("Where", aZero, zero, db);
        return [bld.SumTo(da, a.Shape), bld.SumTo(db, b.Shape)];
    }

    /// <summary>Vectorized float kernel.</summary>
    public struct Kernel : IBinaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float a, float b) => MathF.Pow(a, b);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Pow(a, b, d);
        /// <inheritdoc/>
        public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Pow(a, b, d);
        /// <inheritdoc/>
        public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Pow(a, b, d);
    }
}
