using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Small graph-building helpers for gradient rules that must keep the operand's dtype (bf16 graphs).</summary>
internal static class GradMath
{
    /// <summary>A rank-0 constant with <paramref name="like"/>'s dtype.</summary>
    public static Value Const(this GraphBuilder b, double v, Value like) => b.Scalar(v, like.DType);
    /// <summary>x · s with the scalar in x's dtype (GraphBuilder.Scale always uses a float32 scalar).</summary>
    public static Value ScaleBy(this GraphBuilder b, Value x, double s) => b.Mul(x, b.Scalar(s, x.DType));
    /// <summary>s - x with the scalar in x's dtype.</summary>
    public static Value RSub(this GraphBuilder b, double s, Value x) => b.Sub(b.Scalar(s, x.DType), x);
    /// <summary>Bool mask as 0/1 in the given float dtype.</summary>
    public static Value AsFloat(this GraphBuilder b, Value mask, DType dt) => b.Cast(mask, dt);
}
