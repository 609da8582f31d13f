using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>A kernel over one row (the reduced axis) of up to two inputs, writing one output row.</summary>
internal delegate void RowKernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst);

/// <summary>
/// Runs row kernels along any axis: the tensor is viewed as [outer, n, inner]. Contiguous rows (inner = 1) are
/// handed over in place; strided rows are gathered into per-thread scratch buffers first.
/// </summary>
internal static class RowKernels
{
    /// <summary>Kernels at least this big (elements) run rows in parallel.</summary>
    internal const int ParallelThreshold = 1 << 16;

    internal static void Run(float[] a, float[]? b, float[] dst, Shape s, int axis, RowKernel k)
    {
        if (dst.Length == 0) return;
        long outer = s.Prod(0, axis);
        int n = s[axis];
        int inner = checked((int)s.Prod(axis + 1, s.Rank));
        bool par = dst.Length >= ParallelThreshold;
        if (inner == 1)
        {
            long rows = outer;
            void Row(long r)
            {
                int off = checked((int)(r * n));
                k(a.AsSpan(off, n), b is null ? default : b.AsSpan(off, n), dst.AsSpan(off, n));
            }
            if (par && rows > 1) Parallel.For(0L, rows, Row);
            else for (long r = 0; r < rows; r++) Row(r);
            return;
        }
        void Outer(long o, float[] buf)
        {
            var ba = buf.AsSpan(0, n); var bb = buf.AsSpan(n, n); var bd = buf.AsSpan(2 * n, n);
            long baseOff = o * n * inner;
            for (int i = 0; i < inner; i++)
            {
                long off = baseOff + i;
                for (int j = 0; j < n; j++) ba[j] = a[off + (long)j * inner];
                if (b is not null) for (int j = 0; j < n; j++) bb[j] = b[off + (long)j * inner];
                k(ba, b is null ? default : bb, bd);
                for (int j = 0; j < n; j++) dst[off + (long)j * inner] = bd[j];
            }
        }
        if (par && outer > 1)
            Parallel.For(0L, outer, () => new float[3 * n], (o, _, buf) => { Outer(o, buf); return buf; }, _ => { });
        else { var buf = new float[3 * n]; for (long o = 0; o < outer; o++) Outer(o, buf); }
    }

    /// <summary>Numerically stable softmax of one row.</summary>
    internal static void Softmax(ReadOnlySpan<float> x, ReadOnlySpan<float> _, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        float sum = TensorPrimitives.Sum(y);
        TensorPrimitives.Divide(y, sum, y);
    }

    /// <summary>Numerically stable log-softmax of one row: x - max - log Σ exp(x - max).</summary>
    internal static void LogSoftmax(ReadOnlySpan<float> x, ReadOnlySpan<float> _, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        float sum = 0;
        foreach (var v in y) sum += MathF.Exp(v);
        TensorPrimitives.Subtract(y, MathF.Log(sum), y);
    }

    /// <summary>log Σ exp over a row, stable.</summary>
    internal static float LogSumExp(ReadOnlySpan<float> x)
    {
        float max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max)) return max;
        float sum = 0;
        foreach (var v in x) sum += MathF.Exp(v - max);
        return max + MathF.Log(sum);
    }

    /// <summary>Normalizes an axis for an op, turning the range error into a <see cref="ShapeException"/>.</summary>
    internal static int Axis(string op, Shape s, int axis)
    {
        if (s.Rank == 0) throw new ShapeException($"{op}: needs rank ≥ 1, got a scalar");
        try { return s.Axis(axis); }
        catch (ArgumentException e) { throw new ShapeException($"{op}: {e.Message}"); }
    }

    /// <summary>Floating-dtype check with a message naming the op and type.</summary>
    internal static void CheckFloat(string op, TensorType t, string what = "input")
    {
        if (!t.DType.IsFloating()) throw new ShapeException($"{op}: {what} must be floating, got {t}");
    }
}
