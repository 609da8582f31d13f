using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Backward of <see cref="Embedding"/> (inputs grad [..., D], indices [...]; attr num_embeddings V): a [V, D]
/// tensor where row i is the sum of the gradient rows whose index is i (repeated indices accumulate).
/// </summary>
public sealed class EmbeddingGrad : OpDef
{
    /// <inheritdoc/>
    public override string Name => "EmbeddingGrad";
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
        if (!g.DType.IsFloating()) throw new ShapeException($"EmbeddingGrad: gradient must be floating, got {g}");
        if (g.Rank != idx.Rank + 1 || !g.Shape.Dims[..^1].SequenceEqual(idx.Shape.Dims))
            throw new ShapeException($"EmbeddingGrad: gradient {g.Shape} must be indices shape {idx.Shape} + [dim]");
        int v = attrs.GetInt("num_embeddings");
        if (v < 0) throw new ShapeException($"EmbeddingGrad: num_embeddings must be ≥ 0, got {v}");
        return [g.WithShape(new Shape(v, g.Shape[-1]))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (g, indices) = (inputs[0], inputs[1]);
        var full = outputTypes[0].Shape;
        var idx = IndexKernels.Normalize(Name, indices, full[0], 0, full, allowNegative: false);
        var o = DenseTensor.Zeros(full);
        if (g.Length > 0) IndexKernels.ScatterAdd(g.AsFloat(), idx, 1, full[0], full[1], o.AsFloat());
        return [o];
    }

    /// <summary>Linear in the gradient: its own gradient is the Embedding lookup of the upstream gradient.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Op("Embedding", c.GradOutput, c.X(1)), null];

    /// <summary>One add per gradient element; reads gradient and indices, writes [V, D].</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(inputs[0].Numel, inputs[0].Bytes + inputs[1].Bytes, outputs[0].Bytes);
}
