using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Backward of <see cref="Slice"/>: pads its input with zeros into a tensor of attribute <c>shape</c>, at the
/// positions the slice {axis, start, end, step} selects (attributes as Slice, plus <c>shape</c>).
/// </summary>
public sealed class SliceGrad : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "SliceGrad";

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var full = new Shape(attrs.GetInts("shape"));
        var r = Slice.Resolve(Name, full, attrs);
        var expect = full.With(r.Axis, r.Count);
        if (inputs[0].Shape != expect)
            throw new ShapeException($"SliceGrad: gradient has shape {inputs[0].Shape} but slicing {full} gives {expect}");
        return [inputs[0].WithShape(full)];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var g = inputs[0];
        var full = outputTypes[0].Shape;
        var o = DenseTensor.Zeros(full, g.DType); // zero bits are 0 in every dtype
        var (off, st) = Slice.Box(full, Slice.Resolve(Name, full, attrs));
        LayoutKernels.Apply(g.Storage, o.Storage, new LayoutKernels.StridedCopy(g.Shape.ToArray(), 0, g.Shape.Strides(), off, st));
        return [o];
    }

    /// <summary>Linear in its input: the gradient is the same slice of the upstream gradient.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var a = Attrs.Of(("axis", c.Attrs.GetLong("axis", 0)), ("step", c.Attrs.GetLong("step", 1)),
            ("start", c.Attrs.Has("start") ? c.Attrs.GetLong("start") : null), ("end", c.Attrs.Has("end") ? c.Attrs.GetLong("end") : null));
        return [c.B.Op("Slice", a, c.GradOutput)];
    }

    /// <summary>No FLOPs; the full output is written (zeros included).</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        LayoutKernels.MoveCost(inputs, outputs);
}
