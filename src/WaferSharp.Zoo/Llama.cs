namespace WaferSharp.Zoo;

/// <summary>
/// Llama-2 / Llama-3 decoder: <c>embed_tokens</c>, <c>layers.0 … layers.{L-1}</c> (<see cref="LlamaBlock"/>),
/// final RMSNorm <c>norm</c>, and an untied <c>lm_head</c> (Hugging Face's names without the "model." prefix).
/// </summary>
public sealed class Llama : Module
{
    /// <summary>Token embedding [V, dim].</summary>
    public Embedding embed_tokens;
    /// <summary>Decoder layers.</summary>
    public ModuleList layers;
    /// <summary>Final norm.</summary>
    public RMSNorm norm;
    /// <summary>Output projection [V, dim] (not tied).</summary>
    public Linear lm_head;

    /// <summary>The configuration it was built from.</summary>
    public ModelConfig Config { get; }

    /// <summary>Builds the model (shape-only inside <see cref="Init.Meta"/>).</summary>
    public Llama(ModelConfig c)
    {
        if (c.Vocab <= 0 || c.SeqLen <= 0) throw new ArgumentException($"Llama '{c.Name}': vocab ({c.Vocab}) and seq_len ({c.SeqLen}) must be positive");
        Config = c;
        embed_tokens = new Embedding(c.Vocab, c.Hidden, 0.02f);
        layers = new ModuleList(Enumerable.Range(0, c.Layers).Select(_ =>
            (Module)new LlamaBlock(c.Hidden, c.Heads, c.KvHeads, c.FfnHidden, c.RopeTheta, c.NormEps)));
        norm = new RMSNorm(c.Hidden, c.NormEps);
        lm_head = new Linear(c.Hidden, c.Vocab, hasBias: false);
    }

    /// <summary>tokens int64 [B, T] → logits [B, T, V].</summary>
    public override Tensor Forward(Tensor tokens)
    {
        ZooChecks.ExpectTokens(this, tokens, Config);
        using var _ = Scope();
        var x = embed_tokens.Forward(tokens);
        foreach (var layer in layers) x = layer.Forward(x);
        return lm_head.Forward(norm.Forward(x));
    }

    /// <summary>tokens and targets int64 [B, T] → mean next-token cross-entropy (rank 0).</summary>
    public override Tensor Forward(Tensor tokens, Tensor targets)
    {
        ZooChecks.ExpectTargets(this, tokens, targets);
        var logits = Forward(tokens);
        using var _ = Scope();
        return F.CrossEntropy(logits, targets);
    }
}
