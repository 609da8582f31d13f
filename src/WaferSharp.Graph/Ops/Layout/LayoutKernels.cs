using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Dtype-agnostic data-movement kernels shared by the layout and indexing ops. They work on the raw storage
/// array (float, ushort bit patterns, long, int, bool), so bf16/f16 move bit-exactly and integers untouched.
/// </summary>
internal static class LayoutKernels
{
    /// <summary>A kernel generic over the element type, dispatched on a storage array's runtime type.</summary>
    internal interface IKernel
    {
        void Run<T>(T[] src, T[] dst);
    }

    /// <summary>Runs <paramref name="k"/> on the typed storage of <paramref name="src"/> and <paramref name="dst"/> (same element type).</summary>
    internal static void Apply<TK>(Array src, Array dst, TK k) where TK : IKernel
    {
        switch (src)
        {
            case float[] f: k.Run(f, (float[])dst); break;
            case ushort[] u: k.Run(u, (ushort[])dst); break;
            case long[] l: k.Run(l, (long[])dst); break;
            case int[] i: k.Run(i, (int[])dst); break;
            case bool[] b: k.Run(b, (bool[])dst); break;
            default: throw new NotSupportedException($"storage type {src.GetType().Name} is not supported");
        }
    }

    /// <summary>
    /// <paramref name="x"/> seen with another shape (same element count), sharing its storage like a PyTorch
    /// view: tensors are contiguous, so a reshape moves no data. The executor counts aliases before it
    /// recycles or lets an op overwrite a buffer.
    /// </summary>
    internal static DenseTensor CopyAs(DenseTensor x, Shape shape) => new(x.DType, shape, x.Storage);

    /// <summary>
    /// dst[dstOff + Σ i_k·dstStr_k] = src[srcOff + Σ i_k·srcStr_k] over the index box <paramref name="dims"/>.
    /// Dims are coalesced first; the innermost run is a block copy when both strides are 1.
    /// </summary>
    internal readonly struct StridedCopy(int[] dims, long srcOff, long[] srcStr, long dstOff, long[] dstStr) : IKernel
    {
        public void Run<T>(T[] src, T[] dst) => Copy<T>(src, srcOff, srcStr, dst, dstOff, dstStr, dims);
    }

    internal static void Copy<T>(ReadOnlySpan<T> src, long srcOff, long[] srcStr, Span<T> dst, long dstOff, long[] dstStr, int[] dims)
    {
        foreach (var d in dims) if (d == 0) return;
        // Coalesce: drop size-1 dims, merge neighbours that are contiguous in both operands.
        var cd = new List<int>(dims.Length); var cs = new List<long>(dims.Length); var ct = new List<long>(dims.Length);
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == 1) continue;
            if (cd.Count > 0 && cs[^1] == srcStr[i] * dims[i] && ct[^1] == dstStr[i] * dims[i])
            { cd[^1] *= dims[i]; cs[^1] = srcStr[i]; ct[^1] = dstStr[i]; }
            else { cd.Add(dims[i]); cs.Add(srcStr[i]); ct.Add(dstStr[i]); }
        }
        if (cd.Count == 0) { dst[(int)dstOff] = src[(int)srcOff]; return; }
        int r = cd.Count;
        int inner = cd[r - 1];
        long si = cs[r - 1], di = ct[r - 1];
        long outer = 1;
        for (int i = 0; i < r - 1; i++) outer *= cd[i];
        Span<int> idx = stackalloc int[Math.Max(r, 1)];
        long so = srcOff, dO = dstOff;
        for (long o = 0; o < outer; o++)
        {
            if (si == 1 && di == 1) src.Slice((int)so, inner).CopyTo(dst.Slice((int)dO, inner));
            else
            {
                long s = so, d = dO;
                for (int j = 0; j < inner; j++, s += si, d += di) dst[(int)d] = src[(int)s];
            }
            for (int k = r - 2; k >= 0; k--)
            {
                idx[k]++; so += cs[k]; dO += ct[k];
                if (idx[k] < cd[k]) break;
                so -= cs[k] * cd[k]; dO -= ct[k] * cd[k]; idx[k] = 0;
            }
        }
    }

    /// <summary>Transposes [batch, rows, cols] → [batch, cols, rows] in cache-friendly tiles.</summary>
    internal readonly struct BatchedTranspose(int batch, int rows, int cols) : IKernel
    {
        public void Run<T>(T[] src, T[] dst)
        {
            const int Tile = 32;
            long mat = (long)rows * cols;
            int r = rows, c = cols;
            void One(int b)
            {
                var s = src.AsSpan((int)(b * mat), (int)mat);
                var d = dst.AsSpan((int)(b * mat), (int)mat);
                for (int i0 = 0; i0 < r; i0 += Tile)
                {
                    int i1 = Math.Min(i0 + Tile, r);
                    for (int j0 = 0; j0 < c; j0 += Tile)
                    {
                        int j1 = Math.Min(j0 + Tile, c);
                        for (int i = i0; i < i1; i++)
                        {
                            int srow = i * c;
                            for (int j = j0; j < j1; j++) d[j * r + i] = s[srow + j];
                        }
                    }
                }
            }
            if (mat * batch >= 1 << 16 && batch > 1) Parallel.For(0, batch, One);
            else for (int b = 0; b < batch; b++) One(b);
        }
    }

    /// <summary>For each of <c>outer</c> rows, copies <c>width</c> elements from src row (stride srcRow, column srcCol) to dst row (stride dstRow, column dstCol).</summary>
    internal readonly struct BlockCopy(long outer, int srcRow, int dstRow, int srcCol, int dstCol, int width) : IKernel
    {
        public void Run<T>(T[] src, T[] dst)
        {
            for (long o = 0; o < outer; o++)
                Array.Copy(src, o * srcRow + srcCol, dst, o * dstRow + dstCol, width);
        }
    }

    /// <summary>Reads an index tensor (int64 or int32) as longs.</summary>
    internal static long[] Indices(DenseTensor idx) => idx.Storage switch
    {
        long[] l => l,
        int[] n => Array.ConvertAll(n, x => (long)x),
        _ => throw new ArgumentException($"indices must be int64 or int32, got {idx.DType.ShortName()}"),
    };

    /// <summary>Bytes moved by a pure layout op: every input read once, every output written once; no FLOPs.</summary>
    internal static OpCost MoveCost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs)
    {
        long r = 0, w = 0;
        foreach (var t in inputs) r += t.Bytes;
        foreach (var t in outputs) w += t.Bytes;
        return new OpCost(0, r, w);
    }
}
