using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Zoo;

/// <summary>
/// GPT-2 / GPT-3 decoder (nanoGPT layout): token embedding <c>wte</c>, learned positions <c>wpe</c>, <c>drop</c>,
/// blocks <c>h.0 … h.{L-1}</c>, final <c>ln_f</c>, and <c>lm_head</c> whose weight is <c>wte.weight</c> (tied, counted once).
/// </summary>
public sealed class Gpt : Module
{
    /// <summary>Token embedding [V, C].</summary>
    public Embedding wte;
    /// <summary>Position embedding [ctx, C].</summary>
    public Embedding wpe;
    /// <summary>Embedding dropout.</summary>
    public Dropout drop;
    /// <summary>The transformer blocks.</summary>
    public ModuleList h;
    /// <summary>Final norm.</summary>
    public LayerNorm ln_f;
    /// <summary>Output projection; its weight is <c>wte.weight</c>.</summary>
    public Linear lm_head;

    /// <summary>The configuration it was built from.</summary>
    public ModelConfig Config { get; }

    /// <summary>Builds the model (shape-only inside <see cref="Init.Meta"/>). Weights follow GPT-2's N(0, 0.02) init.</summary>
    public Gpt(ModelConfig c)
    {
        if (c.Vocab <= 0 || c.SeqLen <= 0) throw new ArgumentException($"Gpt '{c.Name}': vocab ({c.Vocab}) and seq_len ({c.SeqLen}) must be positive");
        Config = c;
        wte = new Embedding(c.Vocab, c.Hidden, 0.02f);
        wpe = new Embedding(c.SeqLen, c.Hidden, 0.02f);
        drop = new Dropout(c.Dropout);
        h = new ModuleList(Enumerable.Range(0, c.Layers).Select(_ =>
            (Module)new Block(c.Hidden, c.Heads, c.Dropout, c.NormEps, c.FfnHidden, c.Activation)));
        ln_f = new LayerNorm(c.Hidden, c.NormEps);
        using (Init.Meta()) lm_head = new Linear(c.Hidden, c.Vocab, hasBias: false);
        lm_head.weight = wte.weight;
        if (!Init.IsMeta) Gpt2Init(this, c.Layers);
    }

    /// <summary>GPT-2's initialization: linear weights N(0, 0.02) (residual projections 0.02/√(2L)), biases 0.</summary>
    internal static void Gpt2Init(Module model, int layers)
    {
        foreach (var (name, m) in model.NamedModules())
        {
            if (m is not Linear lin || lin.weight.IsMeta || name == "lm_head") continue;
            float std = name.EndsWith("c_proj", StringComparison.Ordinal) ? 0.02f / MathF.Sqrt(2 * layers) : 0.02f;
            Generator.Default.FillNormal(lin.weight.Data.AsFloat(), 0, std);
            if (lin.bias is { IsMeta: false } b) b.Data.AsFloat().Clear();
        }
    }

    /// <summary>tokens int64 [B, T] → logits [B, T, V].</summary>
    public override Tensor Forward(Tensor tokens)
    {
        ZooChecks.ExpectTokens(this, tokens, Config);
        using var _ = Scope();
        int t = tokens.Size(1);
        var pos = Tensor.FromArray(Enumerable.Range(0, t).Select(i => (long)i).ToArray(), t);
        var x = drop.Forward(wte.Forward(tokens) + wpe.Forward(pos));
        foreach (var block in h) x = block.Forward(x);
        return lm_head.Forward(ln_f.Forward(x));
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

internal static class ZooChecks
{
    private static string Describe(Module m, ModelConfig c) => $"{m.GetType().Name} '{c.Name}'";

    public static void ExpectTokens(Module m, Tensor tokens, ModelConfig c)
    {
        if (tokens.Rank != 2 || tokens.DType is not (DType.Int64 or DType.Int32))
            throw new ShapeException($"{Describe(m, c)}: tokens must be int64 [batch, seq], got {tokens.Type}");
        if (tokens.Size(1) > c.SeqLen)
            throw new ShapeException($"{Describe(m, c)}: sequence length {tokens.Size(1)} exceeds the context length {c.SeqLen}");
    }

    public static void ExpectTargets(Module m, Tensor tokens, Tensor targets)
    {
        if (targets.Shape != tokens.Shape || targets.DType is not (DType.Int64 or DType.Int32))
            throw new ShapeException($"{m.GetType().Name}: targets must be int64 of the tokens' shape {tokens.Shape}, got {targets.Type}");
    }
}
