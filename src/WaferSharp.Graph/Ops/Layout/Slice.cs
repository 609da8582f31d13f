using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Slice {axis, start, end, step}: Python <c>x[..., start:end:step]</c> on one axis with Python's clamping of
/// out-of-range bounds. <c>start</c>/<c>end</c> default to the whole axis and <c>step</c> to 1; a negative
/// step walks backwards (then the defaults are the last element and "before the first").
/// </summary>
public sealed class Slice : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Slice";

    /// <summary>The resolved slice: normalized axis, first index, element count, step.</summary>
    internal readonly record struct Range(int Axis, int Begin, int Count, int Step);

    /// <summary>Python's <c>slice.indices</c> followed by the element count.</summary>
    internal static Range Resolve(string op, Shape s, Attrs attrs)
    {
        int axis;
        try { axis = s.Axis(attrs.GetInt("axis", 0)); }
        catch (ArgumentException e) { throw new ShapeException($"{op}: {e.Message}"); }
        if (s.Rank == 0) throw new ShapeException($"{op}: cannot slice a scalar");
        long n = s[axis];
        long step = attrs.GetLong("step", 1);
        if (step == 0) throw new ShapeException($"{op}: step must not be 0 (shape {s}, axis {axis})");
        long lower = step < 0 ? -1 : 0, upper = step < 0 ? n - 1 : n;
        long Clamp(long v)
        {
            if (v < 0) { v += n; return v < lower ? lower : v; }
            return v > upper ? upper : v;
        }
        long start = attrs.Has("start") ? Clamp(attrs.GetLong("start")) : (step < 0 ? upper : lower);
        long end = attrs.Has("end") ? Clamp(attrs.GetLong("end")) : (step < 0 ? lower : upper);
        long count = step > 0 ? (end > start ? (end - start + step - 1) / step : 0)
                              : (start > end ? (start - end - step - 1) / -step : 0);
        return new Range(axis, (int)(count == 0 ? 0 : start), (int)count, checked((int)step));
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var r = Resolve(Name, inputs[0].Shape, attrs);
        return [inputs[0].WithShape(inputs[0].Shape.With(r.Axis, r.Count))];
    }

    /// <summary>The strided box of the slice inside a tensor of shape <paramref name="full"/>: offset and strides.</summary>
    internal static (long Offset, long[] Strides) Box(Shape full, Range r)
    {
        var st = full.Strides();
        long off = r.Begin * st[r.Axis];
        st[r.Axis] *= r.Step;
        return (off, st);
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        var r = Resolve(Name, x.Shape, attrs);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, x.DType);
        var (off, st) = Box(x.Shape, r);
        LayoutKernels.Apply(x.Storage, o.Storage, new LayoutKernels.StridedCopy(o.Shape.ToArray(), off, st, 0, o.Shape.Strides()));
        return [o];
    }

    /// <summary>SliceGrad: the gradient placed back into a zero tensor of the input's shape.</summary>
    public override Value?[] Gradient(GradContext c) =>
        [c.B.Op("SliceGrad", c.Attrs.With("shape", c.X(0).Shape.ToArray()), c.GradOutput)];
}
