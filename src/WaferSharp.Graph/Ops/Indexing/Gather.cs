using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Gather {axis} (inputs data, indices): numpy.take / ONNX Gather. Output shape is
/// data[:axis] + indices.shape + data[axis+1:] (a 0-d index drops the axis). Indices are i64 or i32;
/// negative ones count from the end as in ONNX; anything outside [-n, n) is an error naming the index and dim.
/// </summary>
public sealed class Gather : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Gather";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Indexing;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);
    /// <summary>False: data of any dtype moves bit-exactly.</summary>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (x, idx) = (inputs[0], inputs[1]);
        IndexKernels.CheckIndexType(Name, idx);
        if (x.Rank == 0) throw new ShapeException($"Gather: data must have rank ≥ 1, got {x}");
        int axis;
        try { axis = x.Shape.Axis(attrs.GetInt("axis", 0)); }
        catch (ArgumentException e) { throw new ShapeException($"Gather: {e.Message}"); }
        var d = new List<int>();
        for (int i = 0; i < axis; i++) d.Add(x.Shape[i]);
        d.AddRange(idx.Shape);
        for (int i = axis + 1; i < x.Rank; i++) d.Add(x.Shape[i]);
        return [x.WithShape(new Shape(d))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (x, indices) = (inputs[0], inputs[1]);
        int axis = x.Shape.Axis(attrs.GetInt("axis", 0));
        int n = x.Shape[axis];
        var idx = IndexKernels.Normalize(Name, indices, n, axis, x.Shape, allowNegative: true);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, x.DType);
        long outer = x.Shape.Prod(0, axis);
        int inner = checked((int)x.Shape.Prod(axis + 1, x.Rank));
        if (o.Length > 0) LayoutKernels.Apply(x.Storage, o.Storage, new IndexKernels.GatherRows(idx, outer, n, inner));
        return [o];
    }

    /// <summary>Scatter-add of the gradient into zeros of the data's shape (GatherGrad); indices get none.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var x = c.X(0);
        var g = c.B.Op("GatherGrad", Attrs.Of(("axis", x.Shape.Axis(c.Attrs.GetInt("axis", 0))), ("shape", x.Shape.ToArray())), c.GradOutput, c.X(1));
        return [g, null];
    }

    /// <summary>No FLOPs; reads the gathered rows (output bytes) and the indices, writes the output.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(0, outputs[0].Bytes + inputs[1].Bytes, outputs[0].Bytes);
}
