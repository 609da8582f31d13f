using System.Numerics;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Index of the maximum along <c>axis</c> (default 0, as ONNX), int64 output; <c>keepdims</c> default true.
/// Ties give the first index; a NaN counts as the maximum (first NaN wins), as torch.argmax. Float, int32, int64.
/// </summary>
public sealed class ArgMax : OpDef
{
    /// <inheritdoc/>
    public override string Name => "ArgMax";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Reduction;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var x = inputs[0];
        if (x.DType == DType.Bool) throw new ShapeException($"ArgMax: needs a numeric tensor, got {x}");
        if (x.Rank == 0) throw new ShapeException("ArgMax: needs rank ≥ 1, got a scalar");
        int axis = Axis(x.Shape, attrs);
        if (x.Shape[axis] == 0) throw new ShapeException($"ArgMax: axis {axis} of {x.Shape} is empty");
        return [new TensorType(DType.Int64, ReduceOp.OutShape(x.Shape, [axis], attrs.GetBool("keepdims", true)))];
    }

    private static int Axis(Shape s, Attrs attrs)
    {
        int a = attrs.GetInt("axis", 0);
        int n = a < 0 ? a + s.Rank : a;
        if (n < 0 || n >= s.Rank) throw new ShapeException($"ArgMax: axis {a} is out of range for shape {s}");
        return n;
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        int axis = Axis(x.Shape, attrs);
        int outer = (int)x.Shape.Prod(0, axis), n = x.Shape[axis], inner = (int)x.Shape.Prod(axis + 1, x.Rank);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, DType.Int64);
        var d = o.AsInt64();
        switch (x.Storage)
        {
            case float[] f: Kernel<float>(f, outer, n, inner, d); break;
            case long[] l: Kernel<long>(l, outer, n, inner, d); break;
            case int[] i: Kernel<int>(i, outer, n, inner, d); break;
            default: throw new NotSupportedException($"ArgMax: dtype {x.DType.ShortName()}");
        }
        return [o];
    }

    private static void Kernel<T>(ReadOnlySpan<T> x, int outer, int n, int inner, Span<long> dst) where T : INumberBase<T>, IComparisonOperators<T, T, bool>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int baseIdx = o * n * inner + j;
                T best = x[baseIdx];
                int bi = 0;
                if (!T.IsNaN(best))
                    for (int k = 1; k < n; k++)
                    {
                        T v = x[baseIdx + k * inner];
                        if (T.IsNaN(v)) { bi = k; break; }
                        if (v > best) { best = v; bi = k; }
                    }
                dst[o * inner + j] = bi;
            }
    }

    /// <summary>Not differentiable.</summary>
    public override Value?[] Gradient(GradContext c) => [null];

    /// <summary>One compare per input element.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(inputs[0].Numel, inputs[0].Bytes, outputs[0].Bytes);
}
