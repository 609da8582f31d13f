namespace WaferSharp.Tensors.Kernels;

/// <summary>
/// NumPy-broadcast binary kernels over float32 spans. Dimensions are coalesced so the innermost loop is as
/// long as possible; the inner loop then is a vectorized span op (same-shape, scalar-broadcast either side).
/// </summary>
public static class Broadcast
{
    /// <summary>out = op(a, b) with broadcasting; <paramref name="outShape"/> must be the broadcast shape.</summary>
    public static void Binary<TOp>(ReadOnlySpan<float> a, Shape aShape, ReadOnlySpan<float> b, Shape bShape, Span<float> dst, Shape outShape)
        where TOp : struct, IBinaryFloatOp
    {
        if (aShape.Equals(bShape)) { Span<TOp>(a, b, dst); return; }
        if (b.Length == 1) { SpanScalar<TOp>(a, b[0], dst); return; }
        if (a.Length == 1) { ScalarSpan<TOp>(a[0], b, dst); return; }
        var plan = Plan(aShape, bShape, outShape);
        int inner = plan.Inner;
        long outer = dst.Length / Math.Max(inner, 1);
        if (inner == 0) return;
        int rank = plan.Dims.Length;
        Span<int> idx = stackalloc int[Math.Max(rank, 1)];
        long aOff = 0, bOff = 0;
        for (long o = 0; o < outer; o++)
        {
            var d = dst.Slice((int)(o * inner), inner);
            if (plan.AInner == 1 && plan.BInner == 1) TOp.Span(a.Slice((int)aOff, inner), b.Slice((int)bOff, inner), d);
            else if (plan.AInner == 1) TOp.SpanScalar(a.Slice((int)aOff, inner), b[(int)bOff], d);
            else if (plan.BInner == 1) TOp.ScalarSpan(a[(int)aOff], b.Slice((int)bOff, inner), d);
            else { float v = TOp.Apply(a[(int)aOff], b[(int)bOff]); d.Fill(v); }
            // advance the odometer over the outer dims
            for (int k = rank - 1; k >= 0; k--)
            {
                idx[k]++; aOff += plan.AStr[k]; bOff += plan.BStr[k];
                if (idx[k] < plan.Dims[k]) break;
                aOff -= plan.AStr[k] * plan.Dims[k]; bOff -= plan.BStr[k] * plan.Dims[k]; idx[k] = 0;
            }
        }
    }

    private static void Span<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) where TOp : struct, IBinaryFloatOp => TOp.Span(a, b, d);
    private static void SpanScalar<TOp>(ReadOnlySpan<float> a, float b, Span<float> d) where TOp : struct, IBinaryFloatOp => TOp.SpanScalar(a, b, d);
    private static void ScalarSpan<TOp>(float a, ReadOnlySpan<float> b, Span<float> d) where TOp : struct, IBinaryFloatOp => TOp.ScalarSpan(a, b, d);

    /// <summary>Outer dims (sizes and element strides per operand, 0 where broadcast) and the inner run.</summary>
    public readonly record struct BroadcastPlan(int[] Dims, long[] AStr, long[] BStr, int Inner, int AInner, int BInner);

    /// <summary>Coalesces dims: output dims with per-operand strides, the last (merged) dim split off as the inner run.</summary>
    public static BroadcastPlan Plan(Shape aShape, Shape bShape, Shape outShape)
    {
        int r = outShape.Rank;
        var dims = new List<int>(); var aSt = new List<long>(); var bSt = new List<long>();
        long[] aFull = PaddedStrides(aShape, r), bFull = PaddedStrides(bShape, r);
        for (int i = 0; i < r; i++)
        {
            int n = outShape[i];
            if (n == 1) continue;
            long sa = aFull[i], sb = bFull[i];
            // merge with the previous dim when both operands are contiguous across the boundary
            if (dims.Count > 0 && aSt[^1] == sa * n && bSt[^1] == sb * n)
            {
                dims[^1] *= n; aSt[^1] = sa; bSt[^1] = sb;
            }
            else { dims.Add(n); aSt.Add(sa); bSt.Add(sb); }
        }
        if (dims.Count == 0) return new BroadcastPlan(Array.Empty<int>(), Array.Empty<long>(), Array.Empty<long>(), 1, 0, 0);
        int inner = dims[^1];
        int ai = aSt[^1] == 0 ? 0 : 1, bi = bSt[^1] == 0 ? 0 : 1;
        dims.RemoveAt(dims.Count - 1); aSt.RemoveAt(aSt.Count - 1); bSt.RemoveAt(bSt.Count - 1);
        return new BroadcastPlan(dims.ToArray(), aSt.ToArray(), bSt.ToArray(), inner, ai, bi);
    }

    /// <summary>Strides of <paramref name="s"/> aligned right to rank <paramref name="r"/>, 0 for broadcast dims.</summary>
    public static long[] PaddedStrides(Shape s, int r)
    {
        var st = new long[r];
        var own = s.Strides();
        int lead = r - s.Rank;
        for (int i = 0; i < r; i++)
        {
            int j = i - lead;
            st[i] = j < 0 || s[j] == 1 ? 0 : own[j];
        }
        return st;
    }

    /// <summary>Copies <paramref name="src"/> broadcast to <paramref name="outShape"/> (any dtype storage).</summary>
    public static void Expand<T>(ReadOnlySpan<T> src, Shape srcShape, Span<T> dst, Shape outShape)
    {
        if (src.Length == dst.Length) { src.CopyTo(dst); return; }
        if (src.Length == 1) { dst.Fill(src[0]); return; }
        int r = outShape.Rank;
        var st = PaddedStrides(srcShape, r);
        int inner = outShape[r - 1];
        bool innerContig = st[r - 1] == 1;
        long outer = dst.Length / inner;
        Span<int> idx = stackalloc int[r];
        long off = 0;
        for (long o = 0; o < outer; o++)
        {
            var d = dst.Slice((int)(o * inner), inner);
            if (innerContig) src.Slice((int)off, inner).CopyTo(d); else d.Fill(src[(int)off]);
            for (int k = r - 2; k >= 0; k--)
            {
                idx[k]++; off += st[k];
                if (idx[k] < outShape[k]) break;
                off -= st[k] * outShape[k]; idx[k] = 0;
            }
        }
    }
}
