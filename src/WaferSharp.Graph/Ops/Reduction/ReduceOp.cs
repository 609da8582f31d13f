using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>How a reduction combines elements.</summary>
public enum ReduceMode
{
    /// <summary>Sum (also the first step of Mean).</summary>
    Sum,
    /// <summary>Maximum (NaN propagates).</summary>
    Max,
    /// <summary>Minimum (NaN propagates).</summary>
    Min,
}

/// <summary>
/// Base of float reductions with attributes <c>axes</c> (negative allowed; absent or empty = all axes) and
/// <c>keepdims</c> (default true, as ONNX). The kernel coalesces the input into alternating runs of kept and
/// reduced dims: [kept, reduced] is a row reduction (vectorized per row, rows in parallel), [reduced, kept]
/// a column reduction (vectorized row accumulation, column blocks in parallel), anything else a general
/// odometer loop whose innermost run is still vectorized.
/// </summary>
public abstract class ReduceOp : OpDef
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Reduction;

    /// <summary>Normalized, sorted, distinct axes and the keepdims flag.</summary>
    public static (int[] Axes, bool KeepDims) Params(Shape s, Attrs attrs, string op)
    {
        bool keep = attrs.GetBool("keepdims", true);
        var raw = attrs.Has("axes") ? attrs.GetInts("axes") : [];
        if (raw.Length == 0) return (Enumerable.Range(0, s.Rank).ToArray(), keep);
        var set = new SortedSet<int>();
        foreach (var a in raw)
        {
            int n = a < 0 ? a + s.Rank : a;
            if (n < 0 || n >= s.Rank) throw new ShapeException($"{op}: axis {a} is out of range for shape {s}");
            if (!set.Add(n)) throw new ShapeException($"{op}: axis {a} is repeated in axes [{string.Join(",", raw)}] for shape {s}");
        }
        return (set.ToArray(), keep);
    }

    /// <summary>The reduced shape (size-1 dims kept in place when <paramref name="keep"/>).</summary>
    public static Shape OutShape(Shape s, int[] axes, bool keep)
    {
        var d = new List<int>();
        for (int i = 0; i < s.Rank; i++)
        {
            if (Array.IndexOf(axes, i) < 0) d.Add(s[i]);
            else if (keep) d.Add(1);
        }
        return new Shape(d);
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var x = inputs[0];
        if (!x.DType.IsFloating()) throw new ShapeException($"{Name}: needs a floating tensor, got {x}");
        var (axes, keep) = Params(x.Shape, attrs, Name);
        return [x.WithShape(OutShape(x.Shape, axes, keep))];
    }

    /// <summary>One read of the input, one op per input element.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(inputs[0].Numel, inputs[0].Bytes, outputs[0].Bytes);

    /// <summary>The upstream gradient reshaped to keepdims form, so it broadcasts against the input.</summary>
    protected static Value KeepDimsForm(GraphBuilder b, Value g, Shape x, int[] axes) =>
        b.Reshape(g, OutShape(x, axes, true).ToArray());

    /// <summary>Reduces <paramref name="x"/> over <paramref name="axes"/> into a new float32 tensor of <paramref name="outShape"/>.</summary>
    public static DenseTensor Reduce(DenseTensor x, int[] axes, ReduceMode mode, Shape outShape)
    {
        var o = DenseTensor.Zeros(outShape);
        var src = (float[])x.Storage;
        var dst = (float[])o.Storage;
        float identity = mode switch { ReduceMode.Max => float.NegativeInfinity, ReduceMode.Min => float.PositiveInfinity, _ => 0f };
        if (dst.Length == 0) return o;
        if (src.Length == 0) { dst.AsSpan().Fill(identity); return o; }

        // coalesce: drop size-1 dims, merge neighbours of the same kind
        var sizes = new List<int>(); var red = new List<bool>();
        for (int i = 0; i < x.Rank; i++)
        {
            if (x.Shape[i] == 1) continue;
            bool r = Array.IndexOf(axes, i) >= 0;
            if (sizes.Count > 0 && red[^1] == r) sizes[^1] *= x.Shape[i];
            else { sizes.Add(x.Shape[i]); red.Add(r); }
        }
        int g = sizes.Count;
        if (g == 0 || (g == 1 && !red[0])) { src.AsSpan().CopyTo(dst); return o; }
        if (g == 1) { dst[0] = Row(src, mode); return o; }
        if (g == 2 && !red[0]) { RowReduce(src, dst, sizes[0], sizes[1], mode); return o; }
        if (g == 2) { ColumnReduce(src, dst, sizes[0], sizes[1], mode); return o; }
        General(src, dst, sizes, red, mode);
        return o;
    }

    private static float Row(ReadOnlySpan<float> x, ReduceMode mode) => mode switch
    {
        ReduceMode.Max => TensorPrimitives.Max(x),
        ReduceMode.Min => TensorPrimitives.Min(x),
        _ => TensorPrimitives.Sum(x),
    };

    private static void Combine(ReadOnlySpan<float> x, Span<float> acc, ReduceMode mode)
    {
        switch (mode)
        {
            case ReduceMode.Max: TensorPrimitives.Max(acc, x, acc); break;
            case ReduceMode.Min: TensorPrimitives.Min(acc, x, acc); break;
            default: TensorPrimitives.Add(acc, x, acc); break;
        }
    }

    private static void RowReduce(float[] src, float[] dst, int rows, int len, ReduceMode mode)
    {
        if ((long)rows * len < ParallelChunks.Threshold) { for (int r = 0; r < rows; r++) dst[r] = Row(src.AsSpan(r * len, len), mode); return; }
        Parallel.For(0, rows, r => dst[r] = Row(src.AsSpan(r * len, len), mode));
    }

    private static void ColumnReduce(float[] src, float[] dst, int rows, int cols, ReduceMode mode)
    {
        void Block(int c0, int n)
        {
            var acc = dst.AsSpan(c0, n);
            src.AsSpan(c0, n).CopyTo(acc);
            for (int r = 1; r < rows; r++) Combine(src.AsSpan(r * cols + c0, n), acc, mode);
        }
        if ((long)rows * cols < ParallelChunks.Threshold || cols < 64) { Block(0, cols); return; }
        int blocks = Math.Min(Environment.ProcessorCount * 2, cols / 32);
        int size = ((cols + blocks - 1) / blocks + 15) & ~15;
        Parallel.For(0, (cols + size - 1) / size, b => Block(b * size, Math.Min(size, cols - b * size)));
    }

    private static void General(float[] src, float[] dst, List<int> sizes, List<bool> red, ReduceMode mode)
    {
        int g = sizes.Count;
        // output strides of the kept groups (0 for reduced ones)
        var ost = new long[g];
        long acc = 1;
        for (int i = g - 1; i >= 0; i--) { if (red[i]) continue; ost[i] = acc; acc *= sizes[i]; }
        float identity = mode switch { ReduceMode.Max => float.NegativeInfinity, ReduceMode.Min => float.PositiveInfinity, _ => 0f };
        dst.AsSpan().Fill(identity);
        int inner = sizes[g - 1];
        bool innerReduced = red[g - 1];
        var idx = new int[g - 1];
        long outer = src.LongLength / inner, oOff = 0;
        for (long o = 0; o < outer; o++)
        {
            var run = src.AsSpan((int)(o * inner), inner);
            if (innerReduced)
            {
                float v = Row(run, mode);
                ref float d = ref dst[oOff];
                d = mode switch { ReduceMode.Max => MaxNaN(d, v), ReduceMode.Min => MinNaN(d, v), _ => d + v };
            }
            else Combine(run, dst.AsSpan((int)oOff, inner), mode);
            for (int k = g - 2; k >= 0; k--)
            {
                idx[k]++; oOff += ost[k];
                if (idx[k] < sizes[k]) break;
                oOff -= ost[k] * sizes[k]; idx[k] = 0;
            }
        }
    }

    private static float MaxNaN(float a, float b) => float.IsNaN(a) || float.IsNaN(b) ? float.NaN : Math.Max(a, b);
    private static float MinNaN(float a, float b) => float.IsNaN(a) || float.IsNaN(b) ? float.NaN : Math.Min(a, b);
}
