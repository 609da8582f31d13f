using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Embedding (inputs weight [V, D], indices of any shape, i64 or i32): output indices.shape + [D], row
/// <c>weight[i]</c> per index (torch.nn.functional.embedding). Indices must lie in [0, V), as in PyTorch.
/// </summary>
public sealed class Embedding : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Embedding";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Indexing;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);
    /// <summary>False: rows of any dtype are copied bit-exactly.</summary>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (w, idx) = (inputs[0], inputs[1]);
        IndexKernels.CheckIndexType(Name, idx);
        if (w.Rank != 2) throw new ShapeException($"Embedding: weight must be [num_embeddings, dim], got {w}");
        return [w.WithShape(new Shape(idx.Shape.Append(w.Shape[1])))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (w, indices) = (inputs[0], inputs[1]);
        int v = w.Shape[0], d = w.Shape[1];
        var idx = IndexKernels.Normalize(Name, indices, v, 0, w.Shape, allowNegative: false);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, w.DType);
        if (o.Length > 0) LayoutKernels.Apply(w.Storage, o.Storage, new IndexKernels.GatherRows(idx, 1, v, d));
        return [o];
    }

    /// <summary>EmbeddingGrad: scatter-add of the gradient rows into a [V, D] zero tensor; indices get none.</summary>
    public override Value?[] Gradient(GradContext c) =>
        [c.B.Op("EmbeddingGrad", Attrs.Of(("num_embeddings", c.X(0).Shape[0])), c.GradOutput, c.X(1)), null];

    /// <summary>No FLOPs; reads the selected rows (output bytes) and the indices, writes the output.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(0, outputs[0].Bytes + inputs[1].Bytes, outputs[0].Bytes);
}
