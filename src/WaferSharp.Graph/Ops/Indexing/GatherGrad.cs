using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Backward of <see cref="Gather"/> (inputs grad, indices; attrs axis, shape): zeros of <c>shape</c> into which
/// each gathered slice of the gradient is added back at its index, so repeated indices accumulate.
/// </summary>
public sealed class GatherGrad : OpDef
{
    /// <inheritdoc/>
    public override string Name => "GatherGrad";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Indexing;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (g, idx) = (inputs[0], inputs[1]);
        IndexKernels.CheckIndexType(Name, idx);
        if (!g.DType.IsFloating()) throw new ShapeException($"GatherGrad: gradient must be floating, got {g}");
        var full = new Shape(attrs.GetInts("shape"));
        int axis;
        try { axis = full.Axis(attrs.GetInt("axis", 0)); }
        catch (ArgumentException e) { throw new ShapeException($"GatherGrad: {e.Message}"); }
        var d = full.Take(axis).Concat(idx.Shape).Concat(full.Skip(axis + 1)).ToArray();
        if (!g.Shape.Dims.SequenceEqual(d))
            throw new ShapeException($"GatherGrad: gradient {g.Shape} does not match gathering {idx.Shape} from {full} on axis {axis} ({Fmt(d)})");
        return [g.WithShape(full)];
    }

    private static string Fmt(int[] d) => "[" + string.Join(",", d) + "]";

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (g, indices) = (inputs[0], inputs[1]);
        var full = outputTypes[0].Shape;
        int axis = full.Axis(attrs.GetInt("axis", 0));
        int n = full[axis];
        var idx = IndexKernels.Normalize(Name, indices, n, axis, full, allowNegative: true);
        var o = DenseTensor.Zeros(full);
        if (g.Length > 0)
            IndexKernels.ScatterAdd(g.AsFloat(), idx, full.Prod(0, axis), n, checked((int)full.Prod(axis + 1, full.Rank)), o.AsFloat());
        return [o];
    }

    /// <summary>Linear in the gradient: its own gradient is the Gather of the upstream gradient.</summary>
    public override Value?[] Gradient(GradContext c) =>
        [c.B.Op("Gather", Attrs.Of(("axis", c.Attrs.GetInt("axis", 0))), c.GradOutput, c.X(1)), null];

    /// <summary>One add per gradient element; reads gradient and indices, writes the full output.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(inputs[0].Numel, inputs[0].Bytes + inputs[1].Bytes, outputs[0].Bytes);
}
