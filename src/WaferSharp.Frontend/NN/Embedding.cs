namespace WaferSharp;

/// <summary>torch.nn.Embedding: rows of a [num_embeddings, dim] table, initialized N(0, 1) as PyTorch does.</summary>
public sealed class Embedding : Module
{
    /// <summary>Table [num_embeddings, embedding_dim].</summary>
    public Parameter weight;
    /// <summary>Rows.</summary>
    public int NumEmbeddings { get; }
    /// <summary>Row width.</summary>
    public int EmbeddingDim { get; }

    /// <summary>Creates the table; <paramref name="std"/> defaults to PyTorch's 1.0 (GPT-2 uses 0.02).</summary>
    public Embedding(int numEmbeddings, int embeddingDim, float std = 1f)
    {
        NumEmbeddings = numEmbeddings; EmbeddingDim = embeddingDim;
        weight = Init.Normal(std, numEmbeddings, embeddingDim);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor indices)
    {
        if (indices.DType is not (Tensors.DType.Int64 or Tensors.DType.Int32))
            throw new Graph.ShapeException($"Embedding '{Path}': indices must be int64 or int32, got {indices.Type}");
        using var _ = Scope();
        return F.Embedding(indices, weight);
    }
}
