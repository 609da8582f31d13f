using System.Runtime.CompilerServices;

namespace WaferSharp.Tensors.Kernels;

/// <summary>
/// A binary float op as a static-abstract struct (the TensorPrimitives pattern): the span forms let hot
/// loops use vectorized TensorPrimitives calls; the scalar form is the definition.
/// </summary>
public interface IBinaryFloatOp
{
    /// <summary>The definition on scalars.</summary>
    static abstract float Apply(float a, float b);
    /// <summary>dst[i] = op(a[i], b[i]). Use a TensorPrimitives call or <see cref="BinaryLoop"/>.</summary>
    static abstract void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst);
    /// <summary>dst[i] = op(a[i], b).</summary>
    static abstract void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> dst);
    /// <summary>dst[i] = op(a, b[i]).</summary>
    static abstract void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> dst);
}

/// <summary>Plain loops over a binary op's scalar definition, for ops without a TensorPrimitives equivalent.</summary>
public static class BinaryLoop
{
    /// <summary>dst[i] = op(a[i], b[i]).</summary>
    public static void Span<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst) where TOp : IBinaryFloatOp
    { for (int i = 0; i < dst.Length; i++) dst[i] = TOp.Apply(a[i], b[i]); }
    /// <summary>dst[i] = op(a[i], b).</summary>
    public static void SpanScalar<TOp>(ReadOnlySpan<float> a, float b, Span<float> dst) where TOp : IBinaryFloatOp
    { for (int i = 0; i < dst.Length; i++) dst[i] = TOp.Apply(a[i], b); }
    /// <summary>dst[i] = op(a, b[i]).</summary>
    public static void ScalarSpan<TOp>(float a, ReadOnlySpan<float> b, Span<float> dst) where TOp : IBinaryFloatOp
    { for (int i = 0; i < dst.Length; i++) dst[i] = TOp.Apply(a, b[i]); }
}

/// <summary>A unary float op as a static-abstract struct.</summary>
public interface IUnaryFloatOp
{
    /// <summary>The definition on scalars.</summary>
    static abstract float Apply(float x);
    /// <summary>dst[i] = op(x[i]); override with a TensorPrimitives call where one exists.</summary>
    static abstract void Span(ReadOnlySpan<float> x, Span<float> dst);
}

/// <summary>Helpers to implement <see cref="IUnaryFloatOp.Span"/> with the scalar definition.</summary>
public static class UnaryLoop
{
    /// <summary>Plain loop over the scalar definition.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TOp>(ReadOnlySpan<float> x, Span<float> dst) where TOp : IUnaryFloatOp
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = TOp.Apply(x[i]);
    }
}
