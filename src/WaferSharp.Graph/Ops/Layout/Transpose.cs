using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Transpose {perm}: output dim k is input dim perm[k] (negative entries allowed). Swapping the last two dims uses a tiled copy.</summary>
public sealed class Transpose : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Transpose";

    private static int[] Perm(Shape s, Attrs attrs)
    {
        // ONNX: no perm means reverse the dims.
        var p = attrs.Has("perm") ? attrs.GetInts("perm") : Enumerable.Range(0, s.Rank).Reverse().ToArray();
        if (p.Length != s.Rank) throw new ShapeException($"Transpose: perm {Fmt(p)} has {p.Length} entries for shape {s}");
        var seen = new bool[s.Rank];
        for (int i = 0; i < p.Length; i++)
        {
            int a = p[i] < 0 ? p[i] + s.Rank : p[i];
            if (a < 0 || a >= s.Rank || seen[a]) throw new ShapeException($"Transpose: perm {Fmt(p)} is not a permutation of the axes of {s}");
            seen[a] = true; p[i] = a;
        }
        return p;
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var s = inputs[0].Shape;
        var p = Perm(s, attrs);
        return [inputs[0].WithShape(new Shape(p.Select(a => s[a])))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        var s = x.Shape;
        var p = Perm(s, attrs);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, x.DType);
        int r = s.Rank;
        bool lastTwo = r >= 2 && p[r - 1] == r - 2 && p[r - 2] == r - 1;
        for (int i = 0; i < r - 2 && lastTwo; i++) lastTwo = p[i] == i;
        if (lastTwo)
        {
            LayoutKernels.Apply(x.Storage, o.Storage, new LayoutKernels.BatchedTranspose((int)s.Prod(0, r - 2), s[r - 2], s[r - 1]));
            return [o];
        }
        var st = s.Strides();
        var srcStr = p.Select(a => st[a]).ToArray();
        LayoutKernels.Apply(x.Storage, o.Storage, new LayoutKernels.StridedCopy(o.Shape.ToArray(), 0, srcStr, 0, o.Shape.Strides()));
        return [o];
    }

    /// <summary>Transpose the gradient by the inverse permutation.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var p = Perm(c.X(0).Shape, c.Attrs);
        var inv = new int[p.Length];
        for (int i = 0; i < p.Length; i++) inv[p[i]] = i;
        return [c.B.Transpose(c.GradOutput, inv)];
    }
}
