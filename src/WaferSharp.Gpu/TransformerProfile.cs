using WaferSharp.Zoo;

namespace WaferSharp.Gpu;

/// <summary>
/// The fast path: a <see cref="ModelProfile"/> written down from a transformer configuration (GPT or Llama block,
/// Megatron-LM's fused kernels) instead of traced. <see cref="GraphProfiler"/> on the traced zoo model gives the
/// same FLOPs and activation bytes (a test checks it); this path also covers the published shapes, which use
/// dropout, and models too large to trace quickly.
/// </summary>
public static class TransformerProfile
{
    /// <summary>A GPT-style shape (learned positions, GELU MLP of 4h, tied embeddings), as in Narayanan et al. 2021.</summary>
    /// <param name="layers">Transformer blocks.</param>
    /// <param name="hidden">Model width.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="vocab">Vocabulary size.</param>
    /// <param name="seqLen">Training sequence length.</param>
    /// <param name="dropout">Megatron-LM's GPT runs use dropout 0.1 (its masks cost activation memory and traffic).</param>
    /// <param name="name">Name for reports.</param>
    public static ModelProfile Gpt(int layers, int hidden, int heads, int vocab, int seqLen, bool dropout = true, string? name = null)
    {
        var cfg = new ModelConfig(name ?? $"gpt-l{layers}-h{hidden}", "gpt3", layers, hidden, heads, heads, vocab, seqLen, 4 * hidden,
            TiedEmbeddings: true, Norm: "layernorm", Activation: "gelu", Dropout: dropout ? 0.1 : 0);
        return FromConfig(cfg, seqLen);
    }

    /// <summary>The profile of a zoo configuration at a sequence length (≤ its context).</summary>
    public static ModelProfile FromConfig(ModelConfig c, int seqLen)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (!c.IsLanguageModel || c.Heads <= 0)
            throw new NotSupportedException($"'{c.Name}' is not a transformer language model; plan it from its graph (GraphProfiler)");
        if (seqLen <= 0) throw new ArgumentException($"sequence length must be positive, got {seqLen}");
        bool llama = c.Family == "llama";
        double s = seqLen, h = c.Hidden, a = c.Heads, d = c.HeadDim, kv = c.KvHeads * d, f = c.FfnHidden, v = c.Vocab;
        bool drop = c.Dropout > 0;
        const double E = 2; // bytes per 16-bit activation element

        var ops = new List<LayerOp>
        {
            LayerOp.Memory("ln_1", 2 * E * s * h, TpSplit.Replicated),
            LayerOp.Gemm("attn.qkv", s, h, h + 2 * kv, TpSplit.N),
            LayerOp.HeadGemm("attn.scores", s, d, s, a, true),
            // fused scale-mask-softmax: read and write the [a, s, s] scores
            LayerOp.Memory("attn.softmax", 2 * E * a * s * s, TpSplit.Sharded, quadratic: true),
        };
        if (drop) ops.Add(LayerOp.Memory("attn.dropout", (2 * E + 1) * a * s * s, TpSplit.Sharded, quadratic: true));
        ops.Add(LayerOp.HeadGemm("attn.context", s, s, d, a, true));
        ops.Add(LayerOp.Gemm("attn.proj", s, h, h, TpSplit.K));
        // bias-dropout-add (fused): read output and residual, write the sum (+ a 1-byte mask)
        ops.Add(LayerOp.Memory("residual_1", (3 * E + (drop ? 1 : 0)) * s * h, TpSplit.Replicated));
        ops.Add(LayerOp.Memory("ln_2", 2 * E * s * h, TpSplit.Replicated));
        if (llama)
        {
            ops.Add(LayerOp.Gemm("mlp.gate_up", s, h, 2 * f, TpSplit.N));
            ops.Add(LayerOp.Memory("mlp.swiglu", 3 * E * s * f, TpSplit.Sharded)); // read gate and up, write the product
        }
        else
        {
            ops.Add(LayerOp.Gemm("mlp.fc", s, h, f, TpSplit.N));
            ops.Add(LayerOp.Memory("mlp.gelu", 2 * E * s * f, TpSplit.Sharded));
        }
        ops.Add(LayerOp.Gemm("mlp.proj", s, f, h, TpSplit.K));
        ops.Add(LayerOp.Memory("residual_2", (3 * E + (drop ? 1 : 0)) * s * h, TpSplit.Replicated));

        // Activations kept for backward [Korthikanti et al. 2022, §4.1]: replicated = both norms' inputs, QKV and MLP
        // inputs (+ two dropout masks); sharded = Q, K, V, the projection input and the MLP's hidden activations;
        // quadratic = softmax output (+ dropout mask and output). For a GPT this is s·b·h·(34 + 5·a·s/h).
        double actRep = 4 * E * s * h + (drop ? 2 * s * h : 0);
        double mlpHidden = llama ? 3 * E * s * f : 2 * E * s * f; // SwiGLU: gate, up, silu(gate)·up; GELU: in, out
        double actShard = E * s * (h + 2 * kv) + E * s * h + mlpHidden;
        double actQuad = E * a * s * s + (drop ? 3 * a * s * s : 0);

        var pre = new List<LayerOp> { LayerOp.Memory("embedding", (llama ? 2 : 4) * E * s * h, TpSplit.Replicated) };
        var post = new List<LayerOp>
        {
            LayerOp.Memory("final_norm", 2 * E * s * h, TpSplit.Replicated),
            LayerOp.Gemm("lm_head", s, h, v, TpSplit.N),
            // vocab-parallel cross-entropy: read the logits, write fp32 softmax statistics and the gradient buffer
            LayerOp.Memory("loss", (E + 4) * s * v, TpSplit.Sharded),
        };

        long lh = c.Hidden, lf = c.FfnHidden, lkv = c.KvHeads * (long)c.HeadDim;
        long perLayer = llama
            ? lh * lh + 2 * lh * lkv + lh * lh + 3 * lh * lf + 2 * lh
            : 4 * lh + lh * (lh + 2 * lkv) + (lh + 2 * lkv) + lh * lh + lh + lh * lf + lf + lf * lh + lh;
        long emb = (long)c.Vocab * lh;
        long pos = c.Positions == "learned" ? (long)Math.Max(c.SeqLen, seqLen) * lh : 0;
        long finalNorm = llama ? lh : 2 * lh;
        return new ModelProfile
        {
            Name = c.Name,
            Layers = c.Layers,
            Hidden = c.Hidden,
            Heads = c.Heads,
            KvHeads = c.KvHeads,
            SeqLen = seqLen,
            Vocab = c.Vocab,
            LayerOps = ops,
            PreOps = pre,
            PostOps = post,
            TpAllReduceBytes = [E * s * h, E * s * h],
            ActReplicated = actRep,
            ActSharded = actShard,
            ActQuadratic = actQuad,
            LayerInputBytes = E * s * h,
            ParamsPerLayer = perLayer,
            PreParams = emb + pos,
            PostParams = finalNorm + (c.TiedEmbeddings ? 0 : emb),
            TiedEmbeddings = c.TiedEmbeddings,
            Source = "transformer config (" + (llama ? "Llama block" : "GPT block") + (drop ? ", dropout" : "") + ")",
        };
    }
}
