using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Row gather and scatter-add shared by Gather/Embedding and their backward ops.</summary>
internal static class IndexKernels
{
    /// <summary>Checks the index dtype; the message names the op and the type.</summary>
    internal static void CheckIndexType(string op, TensorType idx)
    {
        if (idx.DType is not (DType.Int64 or DType.Int32))
            throw new ShapeException($"{op}: indices must be i64 or i32, got {idx}");
    }

    /// <summary>
    /// Reads the indices and maps them into [0, n): negatives count from the end when <paramref name="allowNegative"/>.
    /// Throws naming the index, the dim and the data shape.
    /// </summary>
    internal static int[] Normalize(string op, DenseTensor indices, int n, int axis, Shape data, bool allowNegative)
    {
        var raw = LayoutKernels.Indices(indices);
        var r = new int[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            long v = raw[i];
            if (v < 0 && allowNegative) v += n;
            if (v < 0 || v >= n)
                throw new ArgumentOutOfRangeException(null,
                    $"{op}: index {raw[i]} is out of range for dim {axis} of size {n} (data shape {data}; valid range {(allowNegative ? -n : 0)}..{n - 1})");
            r[i] = (int)v;
        }
        return r;
    }

    /// <summary>dst[o, j, :] = src[o, idx[j], :] with src viewed as [outer, n, inner].</summary>
    internal readonly struct GatherRows(int[] idx, long outer, int n, int inner) : LayoutKernels.IKernel
    {
        public void Run<T>(T[] src, T[] dst)
        {
            int k = idx.Length;
            for (long o = 0; o < outer; o++)
            {
                long sBase = o * n * (long)inner, dBase = o * k * (long)inner;
                if (inner == 1)
                    for (int j = 0; j < k; j++) dst[dBase + j] = src[sBase + idx[j]];
                else
                    for (int j = 0; j < k; j++)
                        src.AsSpan((int)(sBase + (long)idx[j] * inner), inner).CopyTo(dst.AsSpan((int)(dBase + (long)j * inner), inner));
            }
        }
    }

    /// <summary>dst[o, idx[j], :] += g[o, j, :] with dst viewed as [outer, n, inner] (repeated indices accumulate).</summary>
    internal static void ScatterAdd(ReadOnlySpan<float> g, int[] idx, long outer, int n, int inner, Span<float> dst)
    {
        int k = idx.Length;
        for (long o = 0; o < outer; o++)
        {
            long dBase = o * n * (long)inner, sBase = o * k * (long)inner;
            for (int j = 0; j < k; j++)
            {
                var d = dst.Slice((int)(dBase + (long)idx[j] * inner), inner);
                TensorPrimitives.Add(d, g.Slice((int)(sBase + (long)j * inner), inner), d);
            }
        }
    }
}
