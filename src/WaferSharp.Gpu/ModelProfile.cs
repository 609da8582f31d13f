namespace WaferSharp.Gpu;

/// <summary>How tensor parallelism (Megatron style) splits one op across the TP group.</summary>
public enum TpSplit
{
    /// <summary>Replicated on every TP rank (LayerNorm, residual adds); split along the sequence with sequence parallelism.</summary>
    Replicated,
    /// <summary>Column-parallel GEMM: the output features N are split.</summary>
    N,
    /// <summary>Row-parallel GEMM: the reduction K is split; its output needs an all-reduce.</summary>
    K,
    /// <summary>Batched GEMM split over heads (attention scores and context).</summary>
    Batch,
    /// <summary>A memory-bound op on a tensor already split over the TP group (heads, FFN width, vocabulary).</summary>
    Sharded,
}

/// <summary>
/// One op of a transformer layer (or of the embedding/head), per sample of the micro-batch, forward pass only.
/// GEMMs are [M×K]·[K×N] repeated <see cref="Batch"/> times; the micro-batch multiplies M for token GEMMs and the
/// batch count for per-head GEMMs. Memory-bound ops move <see cref="Bytes"/> (16-bit activations).
/// </summary>
/// <param name="Name">Where it came from (module path or role, e.g. "attn.qkv").</param>
/// <param name="IsGemm">GEMM (tensor cores) or memory-bound op.</param>
/// <param name="M">Rows per sample (tokens) for token GEMMs; rows per head for per-head GEMMs.</param>
/// <param name="K">Reduction size.</param>
/// <param name="N">Output columns.</param>
/// <param name="Batch">GEMMs per sample (heads for attention, else 1).</param>
/// <param name="PerHead">True when the micro-batch multiplies <see cref="Batch"/> rather than <see cref="M"/>.</param>
/// <param name="Split">How TP splits it.</param>
/// <param name="Bytes">Memory-bound traffic per sample (read + write), bytes; 0 for GEMMs (their traffic follows from the shape).</param>
/// <param name="Quadratic">Scales with seq² (attention scores/probabilities): what selective recomputation recomputes.</param>
public readonly record struct LayerOp(string Name, bool IsGemm, double M, double K, double N, double Batch, bool PerHead,
    TpSplit Split, double Bytes, bool Quadratic)
{
    /// <summary>Forward FLOPs per sample (0 for memory-bound ops; their arithmetic is negligible beside the traffic).</summary>
    public double Flops => IsGemm ? 2 * M * K * N * Batch : 0;

    /// <summary>A token GEMM.</summary>
    public static LayerOp Gemm(string name, double m, double k, double n, TpSplit split) => new(name, true, m, k, n, 1, false, split, 0, false);

    /// <summary>A per-head batched GEMM (attention).</summary>
    public static LayerOp HeadGemm(string name, double m, double k, double n, double heads, bool quadratic) =>
        new(name, true, m, k, n, heads, true, TpSplit.Batch, 0, quadratic);

    /// <summary>A memory-bound op.</summary>
    public static LayerOp Memory(string name, double bytes, TpSplit split, bool quadratic = false) =>
        new(name, false, 0, 0, 0, 1, false, split, bytes, quadratic);
}

/// <summary>
/// What the planner knows about a model at one sequence length: the ops of one repeated layer (block), the ops
/// before the first block (embedding) and after the last (final norm, logits, loss), TP communication, the
/// activations each layer keeps for backward, and parameter counts. Built from a graph by
/// <see cref="GraphProfiler"/> or directly from a transformer configuration by <see cref="TransformerProfile"/>.
/// All per-sample figures use 16-bit activations.
/// </summary>
public sealed record ModelProfile
{
    /// <summary>Model name for reports.</summary>
    public required string Name { get; init; }
    /// <summary>Repeated layers (blocks); pipeline stages split these.</summary>
    public required int Layers { get; init; }
    /// <summary>Width of the residual stream (the tensor passed between pipeline stages, per token).</summary>
    public required int Hidden { get; init; }
    /// <summary>Attention heads (0 if none): tensor parallelism must divide it.</summary>
    public required int Heads { get; init; }
    /// <summary>Key/value heads (for the KV cache).</summary>
    public int KvHeads { get; init; }
    /// <summary>Sequence length the per-sample figures are for (1 for non-sequence models).</summary>
    public required int SeqLen { get; init; }
    /// <summary>Vocabulary (0 if none).</summary>
    public int Vocab { get; init; }
    /// <summary>Ops of one layer, forward, per sample.</summary>
    public required IReadOnlyList<LayerOp> LayerOps { get; init; }
    /// <summary>Ops before the first layer (first pipeline stage).</summary>
    public required IReadOnlyList<LayerOp> PreOps { get; init; }
    /// <summary>Ops after the last layer (last pipeline stage), incl. logits and loss.</summary>
    public required IReadOnlyList<LayerOp> PostOps { get; init; }
    /// <summary>Bytes per sample of each TP all-reduce in one layer's forward pass (Megatron: after attention and after the MLP).</summary>
    public required IReadOnlyList<double> TpAllReduceBytes { get; init; }
    /// <summary>Activation bytes per sample per layer kept for backward that TP does not split (split by sequence parallelism).</summary>
    public required double ActReplicated { get; init; }
    /// <summary>Activation bytes per sample per layer that TP splits.</summary>
    public required double ActSharded { get; init; }
    /// <summary>Activation bytes per sample per layer that grow with seq² (dropped by selective recomputation; TP splits them).</summary>
    public required double ActQuadratic { get; init; }
    /// <summary>Bytes per sample of a layer's input (what full recomputation keeps; also the pipeline message).</summary>
    public required double LayerInputBytes { get; init; }
    /// <summary>Parameters of one layer.</summary>
    public required long ParamsPerLayer { get; init; }
    /// <summary>Parameters outside the layers held by the first stage (embeddings).</summary>
    public required long PreParams { get; init; }
    /// <summary>Parameters outside the layers held by the last stage (final norm, untied output head).</summary>
    public required long PostParams { get; init; }
    /// <summary>True when the output head shares the input embedding (a copy lives on the last stage when PP &gt; 1).</summary>
    public bool TiedEmbeddings { get; init; }
    /// <summary>Where the profile came from ("transformer config" or "graph: N nodes").</summary>
    public string Source { get; init; } = "";

    /// <summary>Total parameters (tied weights once).</summary>
    public long Parameters => Layers * ParamsPerLayer + PreParams + PostParams;

    /// <summary>Forward FLOPs per sample of one layer.</summary>
    public double LayerFlops => Sum(LayerOps);

    /// <summary>
    /// Model FLOPs per sample for one training step (forward + backward = 3 × forward GEMM FLOPs, no recomputation):
    /// the MFU numerator. For a GPT this equals 72·s·l·h²·(1 + s/(6h) + V/(12·l·h)) per sequence [Korthikanti].
    /// </summary>
    public double ModelFlopsPerSample => 3 * (Layers * LayerFlops + Sum(PreOps) + Sum(PostOps));

    private static double Sum(IReadOnlyList<LayerOp> ops)
    {
        double f = 0;
        foreach (var o in ops) f += o.Flops;
        return f;
    }

    /// <summary>Whether TP degree <paramref name="t"/> divides the heads (or the width when there are none).</summary>
    public bool AllowsTensorParallel(int t) => t == 1 || (Heads > 0 ? Heads % t == 0 : Hidden % t == 0);
}
