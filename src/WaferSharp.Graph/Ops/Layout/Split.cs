using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Split {axis, sizes}: cuts a tensor into consecutive pieces along an axis, one output per entry of
/// <c>sizes</c> (which must add up to the axis length). Without <c>sizes</c>, <c>num_outputs</c> gives equal
/// pieces of ceil(n / num_outputs) with a smaller last one (ONNX 18).
/// </summary>
public sealed class Split : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Split";

    private static (int Axis, int[] Sizes) Resolve(Shape s, Attrs attrs)
    {
        if (s.Rank == 0) throw new ShapeException("Split: cannot split a scalar");
        int axis;
        try { axis = s.Axis(attrs.GetInt("axis", 0)); }
        catch (ArgumentException e) { throw new ShapeException($"Split: {e.Message}"); }
        int n = s[axis];
        int[] sizes;
        if (attrs.Has("sizes")) sizes = attrs.GetInts("sizes");
        else if (attrs.Has("num_outputs"))
        {
            int k = attrs.GetInt("num_outputs");
            if (k <= 0) throw new ShapeException($"Split: num_outputs must be positive, got {k}");
            int chunk = (n + k - 1) / k;
            sizes = Enumerable.Range(0, k).Select(i => Math.Max(0, Math.Min(chunk, n - i * chunk))).ToArray();
        }
        else throw new ShapeException("Split: needs attribute 'sizes' (or 'num_outputs')");
        if (sizes.Length == 0 || sizes.Any(x => x < 0) || sizes.Sum() != n)
            throw new ShapeException($"Split: sizes {Fmt(sizes)} do not add up to dim {axis} ({n}) of shape {s}");
        return (axis, sizes);
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (axis, sizes) = Resolve(inputs[0].Shape, attrs);
        return sizes.Select(n => inputs[0].WithShape(inputs[0].Shape.With(axis, n))).ToArray();
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        var (axis, sizes) = Resolve(x.Shape, attrs);
        long outer = x.Shape.Prod(0, axis), inner = x.Shape.Prod(axis + 1, x.Rank);
        int srcRow = checked((int)(x.Shape[axis] * inner));
        var outs = new DenseTensor[sizes.Length];
        int col = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            outs[i] = DenseTensor.Zeros(outputTypes[i].Shape, x.DType);
            int w = checked((int)(sizes[i] * inner));
            if (w > 0) LayoutKernels.Apply(x.Storage, outs[i].Storage, new LayoutKernels.BlockCopy(outer, srcRow, w, col, 0, w));
            col += w;
        }
        return outs;
    }

    /// <summary>Concat of the output gradients (zeros for outputs no gradient reached).</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var gs = new Value[c.Outputs.Length];
        for (int i = 0; i < gs.Length; i++) gs[i] = c.GradOutputs[i] ?? c.B.ZerosLike(c.Outputs[i]);
        if (gs.Length == 1) return [gs[0]];
        int axis = c.X(0).Shape.Axis(c.Attrs.GetInt("axis", 0));
        return [c.B.Op("Concat", Attrs.Of(("axis", axis)), gs)];
    }
}
