using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Concat {axis}: joins any number of tensors of one dtype along an axis; the other dims must agree.</summary>
public sealed class Concat : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Concat";
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (1, int.MaxValue);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var s0 = inputs[0].Shape;
        if (s0.Rank == 0) throw new ShapeException("Concat: cannot concatenate scalars");
        int axis;
        try { axis = s0.Axis(attrs.GetInt("axis")); }
        catch (ArgumentException e) { throw new ShapeException($"Concat: {e.Message}"); }
        long total = 0;
        foreach (var t in inputs)
        {
            if (t.DType != inputs[0].DType) throw new ShapeException($"Concat: dtypes differ ({inputs[0]} vs {t})");
            bool ok = t.Rank == s0.Rank;
            for (int i = 0; ok && i < s0.Rank; i++) ok = i == axis || t.Shape[i] == s0[i];
            if (!ok) throw new ShapeException($"Concat: shapes {string.Join(", ", inputs.Select(x => x.Shape))} differ outside axis {axis}");
            total += t.Shape[axis];
        }
        return [inputs[0].WithShape(s0.With(axis, checked((int)total)))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var os = outputTypes[0].Shape;
        int axis = os.Axis(attrs.GetInt("axis"));
        var o = DenseTensor.Zeros(os, outputTypes[0].DType);
        long outer = os.Prod(0, axis), inner = os.Prod(axis + 1, os.Rank);
        int dstRow = checked((int)(os[axis] * inner));
        int col = 0;
        foreach (var x in inputs)
        {
            int w = checked((int)(x.Shape[axis] * inner));
            if (w > 0) LayoutKernels.Apply(x.Storage, o.Storage, new LayoutKernels.BlockCopy(outer, w, dstRow, 0, col, w));
            col += w;
        }
        return [o];
    }

    /// <summary>Each input gets its slice of the gradient.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var g = c.GradOutput;
        int axis = g.Shape.Axis(c.Attrs.GetInt("axis"));
        var res = new Value?[c.Inputs.Length];
        int start = 0;
        for (int i = 0; i < res.Length; i++)
        {
            int n = c.X(i).Shape[axis];
            res[i] = c.B.Op("Slice", Attrs.Of(("axis", axis), ("start", start), ("end", start + n), ("step", 1)), g);
            start += n;
        }
        return res;
    }
}
