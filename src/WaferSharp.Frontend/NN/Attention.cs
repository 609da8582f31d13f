using WaferSharp.Graph;

namespace WaferSharp;

/// <summary>Shared checks for the attention layers: messages name the layer, its path and the shapes.</summary>
internal static class AttentionChecks
{
    public static string Describe(Module m) => $"{m.GetType().Name} '{(m.Path.Length == 0 ? "(root)" : m.Path)}'";

    public static int HeadDim(string layer, int embedDim, int numHeads)
    {
        if (embedDim <= 0) throw new ArgumentOutOfRangeException(nameof(embedDim), $"{layer}: embed_dim must be positive, got {embedDim}");
        if (numHeads <= 0) throw new ArgumentOutOfRangeException(nameof(numHeads), $"{layer}: num_heads must be positive, got {numHeads}");
        if (embedDim % numHeads != 0)
            throw new ArgumentException($"{layer}: embed_dim {embedDim} is not divisible by num_heads {numHeads} (head dim would be {embedDim / (double)numHeads:0.###})");
        return embedDim / numHeads;
    }

    public static void ExpectRank3(Module m, Tensor x, string what)
    {
        if (x.Rank != 3)
            throw new ShapeException($"{Describe(m)}: {what} has shape {x.Shape}, expected [batch, seq, embed] (rank 3)");
    }

    /// <summary>[B, T, H·D] → [B, H, T, D].</summary>
    public static Tensor SplitHeads(Tensor x, int heads, int headDim) =>
        x.Reshape(x.Size(0), x.Size(1), heads, headDim).Transpose(1, 2);

    /// <summary>[B, H, T, D] → [B, T, H·D].</summary>
    public static Tensor MergeHeads(Tensor x) =>
        x.Transpose(1, 2).Reshape(x.Size(0), x.Size(2), x.Size(1) * x.Size(3));

    /// <summary>Attention with dropout on the probabilities (only used in training with p &gt; 0).</summary>
    public static Tensor AttentionWithDropout(Tensor q, Tensor k, Tensor v, bool isCausal, Dropout drop)
    {
        var scores = F.MatMul(q, k.Transpose(-2, -1)) * Tensor.Scalar((float)(1.0 / Math.Sqrt(q.Size(-1))));
        if (isCausal) scores = F.CausalMask(scores);
        return F.MatMul(drop.Forward(F.Softmax(scores, -1)), v);
    }
}

/// <summary>
/// GPT-2 causal self-attention: <c>c_attn</c> (Linear C→3C) gives q, k, v (in that order along the last dim),
/// heads are [B, H, T, D], scaled dot-product attention with a causal mask, then <c>c_proj</c> (Linear C→C).
/// </summary>
public sealed class CausalSelfAttention : Module
{
    /// <summary>Fused q, k, v projection [3C, C].</summary>
    public Linear c_attn;
    /// <summary>Output projection [C, C].</summary>
    public Linear c_proj;
    /// <summary>Dropout on attention probabilities.</summary>
    public Dropout attn_dropout;
    /// <summary>Dropout on the output.</summary>
    public Dropout resid_dropout;

    /// <summary>Model width C.</summary>
    public int EmbedDim { get; }
    /// <summary>Number of heads H.</summary>
    public int NumHeads { get; }
    /// <summary>Head width D = C / H.</summary>
    public int HeadDim { get; }

    /// <summary>Creates the layer; <paramref name="numHeads"/> must divide <paramref name="embedDim"/>.</summary>
    public CausalSelfAttention(int embedDim, int numHeads, bool bias = true, double dropout = 0)
    {
        HeadDim = AttentionChecks.HeadDim($"CausalSelfAttention(embed_dim={embedDim}, num_heads={numHeads})", embedDim, numHeads);
        EmbedDim = embedDim; NumHeads = numHeads;
        c_attn = new Linear(embedDim, 3 * embedDim, bias);
        c_proj = new Linear(embedDim, embedDim, bias);
        attn_dropout = new Dropout(dropout);
        resid_dropout = new Dropout(dropout);
    }

    /// <summary>x [B, T, C] → [B, T, C].</summary>
    public override Tensor Forward(Tensor x)
    {
        AttentionChecks.ExpectRank3(this, x, "input");
        ExpectLastDim(x, EmbedDim, "embed_dim");
        using var _ = Scope();
        var qkv = F.Split(c_attn.Forward(x), [EmbedDim, EmbedDim, EmbedDim], -1);
        var q = AttentionChecks.SplitHeads(qkv[0], NumHeads, HeadDim);
        var k = AttentionChecks.SplitHeads(qkv[1], NumHeads, HeadDim);
        var v = AttentionChecks.SplitHeads(qkv[2], NumHeads, HeadDim);
        var y = IsTraining && attn_dropout.P > 0
            ? AttentionChecks.AttentionWithDropout(q, k, v, true, attn_dropout)
            : F.ScaledDotProductAttention(q, k, v, isCausal: true);
        return resid_dropout.Forward(c_proj.Forward(AttentionChecks.MergeHeads(y)));
    }
}

/// <summary>
/// torch.nn.MultiheadAttention with <c>batch_first=True</c>: <c>in_proj_weight</c> [3E, E] (q, k, v rows),
/// <c>in_proj_bias</c> [3E], and <c>out_proj</c> (Linear E→E). Inputs are [B, L, E] / [B, S, E].
/// </summary>
public sealed class MultiheadAttention : Module
{
    /// <summary>Packed q, k, v projection weights [3E, E].</summary>
    public Parameter in_proj_weight;
    /// <summary>Packed biases [3E] (null without bias).</summary>
    public Parameter? in_proj_bias;
    /// <summary>Output projection.</summary>
    public Linear out_proj;

    /// <summary>E.</summary>
    public int EmbedDim { get; }
    /// <summary>Heads.</summary>
    public int NumHeads { get; }
    /// <summary>E / heads.</summary>
    public int HeadDim { get; }

    /// <summary>Creates the layer with PyTorch's initialization (xavier-uniform in_proj, zero biases).</summary>
    public MultiheadAttention(int embedDim, int numHeads, bool bias = true)
    {
        HeadDim = AttentionChecks.HeadDim($"MultiheadAttention(embed_dim={embedDim}, num_heads={numHeads})", embedDim, numHeads);
        EmbedDim = embedDim; NumHeads = numHeads;
        in_proj_weight = Init.Uniform(MathF.Sqrt(6f / (embedDim + 3 * embedDim)), 3 * embedDim, embedDim);
        in_proj_bias = bias ? Init.Constant(0f, 3 * embedDim) : null;
        out_proj = new Linear(embedDim, embedDim, bias);
        if (bias) out_proj.bias = Init.Constant(0f, embedDim);
    }

    /// <summary>Self-attention: Forward(x, x, x).</summary>
    public override Tensor Forward(Tensor x) => Forward(x, x, x, false);

    /// <summary>query [B, L, E], key and value [B, S, E] → [B, L, E]; <paramref name="isCausal"/> masks key j &gt; query i.</summary>
    public Tensor Forward(Tensor query, Tensor key, Tensor value, bool isCausal = false)
    {
        AttentionChecks.ExpectRank3(this, query, "query");
        AttentionChecks.ExpectRank3(this, key, "key");
        AttentionChecks.ExpectRank3(this, value, "value");
        ExpectLastDim(query, EmbedDim, "embed_dim");
        ExpectLastDim(key, EmbedDim, "embed_dim");
        ExpectLastDim(value, EmbedDim, "embed_dim");
        if (key.Size(0) != query.Size(0) || value.Size(0) != query.Size(0) || key.Size(1) != value.Size(1))
            throw new ShapeException($"{AttentionChecks.Describe(this)}: query {query.Shape}, key {key.Shape} and value {value.Shape} must share the batch size, and key/value the sequence length");
        using var _ = Scope();
        int e = EmbedDim;
        Tensor Proj(Tensor x, int i) => F.Linear(x, F.Slice(in_proj_weight, 0, i * e, (i + 1) * e),
            in_proj_bias is null ? null : F.Slice(in_proj_bias, 0, i * e, (i + 1) * e));
        var q = AttentionChecks.SplitHeads(Proj(query, 0), NumHeads, HeadDim);
        var k = AttentionChecks.SplitHeads(Proj(key, 1), NumHeads, HeadDim);
        var v = AttentionChecks.SplitHeads(Proj(value, 2), NumHeads, HeadDim);
        var y = F.ScaledDotProductAttention(q, k, v, isCausal);
        return out_proj.Forward(AttentionChecks.MergeHeads(y));
    }
}

/// <summary>
/// Llama attention: <c>q_proj, k_proj, v_proj, o_proj</c> without bias, rotary embeddings on q and k,
/// grouped-query attention (each of the <c>numKvHeads</c> key/value heads serves numHeads/numKvHeads query heads), causal.
/// </summary>
public sealed class LlamaAttention : Module
{
    /// <summary>[H·D, dim].</summary>
    public Linear q_proj;
    /// <summary>[KV·D, dim].</summary>
    public Linear k_proj;
    /// <summary>[KV·D, dim].</summary>
    public Linear v_proj;
    /// <summary>[dim, H·D].</summary>
    public Linear o_proj;

    /// <summary>Model width.</summary>
    public int Dim { get; }
    /// <summary>Query heads.</summary>
    public int NumHeads { get; }
    /// <summary>Key/value heads.</summary>
    public int NumKvHeads { get; }
    /// <summary>Head width.</summary>
    public int HeadDim { get; }
    /// <summary>RoPE base.</summary>
    public double RopeTheta { get; }

    /// <summary>Creates the layer; heads must divide dim and kv heads must divide heads.</summary>
    public LlamaAttention(int dim, int numHeads, int numKvHeads, double ropeTheta = 10000.0)
    {
        string layer = $"LlamaAttention(dim={dim}, num_heads={numHeads}, num_kv_heads={numKvHeads})";
        HeadDim = AttentionChecks.HeadDim(layer, dim, numHeads);
        if (numKvHeads <= 0 || numHeads % numKvHeads != 0)
            throw new ArgumentException($"{layer}: num_kv_heads {numKvHeads} must be positive and divide num_heads {numHeads}");
        if (HeadDim % 2 != 0) throw new ArgumentException($"{layer}: rotary embeddings need an even head dim, got {HeadDim}");
        Dim = dim; NumHeads = numHeads; NumKvHeads = numKvHeads; RopeTheta = ropeTheta;
        q_proj = new Linear(dim, numHeads * HeadDim, false);
        k_proj = new Linear(dim, numKvHeads * HeadDim, false);
        v_proj = new Linear(dim, numKvHeads * HeadDim, false);
        o_proj = new Linear(numHeads * HeadDim, dim, false);
    }

    /// <summary>x [B, T, dim] → [B, T, dim].</summary>
    public override Tensor Forward(Tensor x)
    {
        AttentionChecks.ExpectRank3(this, x, "input");
        ExpectLastDim(x, Dim, "hidden_size");
        using var _ = Scope();
        var q = F.Rope(AttentionChecks.SplitHeads(q_proj.Forward(x), NumHeads, HeadDim), RopeTheta);
        var k = F.Rope(AttentionChecks.SplitHeads(k_proj.Forward(x), NumKvHeads, HeadDim), RopeTheta);
        var v = AttentionChecks.SplitHeads(v_proj.Forward(x), NumKvHeads, HeadDim);
        k = RepeatKv(k, NumHeads / NumKvHeads);
        v = RepeatKv(v, NumHeads / NumKvHeads);
        var y = F.ScaledDotProductAttention(q, k, v, isCausal: true);
        return o_proj.Forward(AttentionChecks.MergeHeads(y));
    }

    /// <summary>[B, KV, T, D] → [B, KV·rep, T, D], query head h using kv head h / rep (Hugging Face's repeat_kv).</summary>
    public static Tensor RepeatKv(Tensor x, int rep)
    {
        if (rep == 1) return x;
        int b = x.Size(0), kv = x.Size(1), t = x.Size(2), d = x.Size(3);
        return F.Expand(x.Reshape(b, kv, 1, t, d), b, kv, rep, t, d).Reshape(b, kv * rep, t, d);
    }
}
