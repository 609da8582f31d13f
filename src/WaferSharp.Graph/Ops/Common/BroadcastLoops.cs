using WaferSharp.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>A binary function on raw element types, as a static-abstract struct so loops inline it.</summary>
public interface IBinaryFn<TA, TB, TO>
{
    /// <summary>The definition on scalars.</summary>
    static abstract TO Apply(TA a, TB b);
}

/// <summary>
/// Broadcasting loops over raw (any dtype) storage: binary ops with coalesced dims, and the three-way broadcast
/// <see cref="Where"/> uses. Float arithmetic uses the vectorized <see cref="Broadcast"/> kernels instead.
/// </summary>
public static class BroadcastLoops
{
    /// <summary>dst = f(a, b) with NumPy broadcasting; <paramref name="outShape"/> must be the broadcast shape.</summary>
    public static void Binary<TA, TB, TO, TF>(ReadOnlySpan<TA> a, Shape aShape, ReadOnlySpan<TB> b, Shape bShape, Span<TO> dst, Shape outShape)
        where TF : struct, IBinaryFn<TA, TB, TO>
    {
        if (dst.Length == 0) return;
        if (a.Length == dst.Length && b.Length == dst.Length)
        {
            for (int i = 0; i < dst.Length; i++) dst[i] = TF.Apply(a[i], b[i]);
            return;
        }
        var plan = Broadcast.Plan(aShape, bShape, outShape);
        int inner = plan.Inner, rank = plan.Dims.Length;
        int ai = plan.AInner, bi = plan.BInner;
        long outer = dst.Length / inner;
        Span<int> idx = stackalloc int[Math.Max(rank, 1)];
        idx.Clear();
        long aOff = 0, bOff = 0;
        for (long o = 0; o < outer; o++)
        {
            var d = dst.Slice((int)(o * inner), inner);
            int pa = (int)aOff, pb = (int)bOff;
            for (int i = 0; i < d.Length; i++, pa += ai, pb += bi) d[i] = TF.Apply(a[pa], b[pb]);
            for (int k = rank - 1; k >= 0; k--)
            {
                idx[k]++; aOff += plan.AStr[k]; bOff += plan.BStr[k];
                if (idx[k] < plan.Dims[k]) break;
                aOff -= plan.AStr[k] * plan.Dims[k]; bOff -= plan.BStr[k] * plan.Dims[k]; idx[k] = 0;
            }
        }
    }

    /// <summary>
    /// dst[i] = cond ? a : b with three-way broadcasting (any element type). The innermost output dim is the
    /// inner loop; operands broadcast along it read one element.
    /// </summary>
    public static void Where<T>(ReadOnlySpan<bool> cond, Shape cShape, ReadOnlySpan<T> a, Shape aShape, ReadOnlySpan<T> b, Shape bShape, Span<T> dst, Shape outShape)
    {
        if (dst.Length == 0) return;
        if (cond.Length == dst.Length && a.Length == dst.Length && b.Length == dst.Length)
        {
            for (int i = 0; i < dst.Length; i++) dst[i] = cond[i] ? a[i] : b[i];
            return;
        }
        int r = outShape.Rank;
        if (r == 0) { dst[0] = cond[0] ? a[0] : b[0]; return; }
        long[] sc = Broadcast.PaddedStrides(cShape, r), sa = Broadcast.PaddedStrides(aShape, r), sb = Broadcast.PaddedStrides(bShape, r);
        int inner = outShape[r - 1];
        int ic = (int)sc[r - 1], ia = (int)sa[r - 1], ib = (int)sb[r - 1];
        long outer = dst.Length / inner;
        Span<int> idx = stackalloc int[r];
        idx.Clear();
        long cOff = 0, aOff = 0, bOff = 0;
        for (long o = 0; o < outer; o++)
        {
            var d = dst.Slice((int)(o * inner), inner);
            int pc = (int)cOff, pa = (int)aOff, pb = (int)bOff;
            for (int i = 0; i < d.Length; i++, pc += ic, pa += ia, pb += ib) d[i] = cond[pc] ? a[pa] : b[pb];
            for (int k = r - 2; k >= 0; k--)
            {
                idx[k]++; cOff += sc[k]; aOff += sa[k]; bOff += sb[k];
                if (idx[k] < outShape[k]) break;
                cOff -= sc[k] * outShape[k]; aOff -= sa[k] * outShape[k]; bOff -= sb[k] * outShape[k]; idx[k] = 0;
            }
        }
    }

    /// <summary>Broadcasts two shapes, rethrowing a mismatch as a <see cref="ShapeException"/> naming the op and both shapes.</summary>
    public static Shape BroadcastShapes(string op, Shape a, Shape b)
    {
        try { return Shape.Broadcast(a, b); }
        catch (ArgumentException e) { throw new ShapeException($"{op}: {e.Message}"); }
    }
}
