namespace WaferSharp.Zoo;

/// <summary>
/// Named model shapes: the reference MLP, GPT-2, GPT-3 (paper table 2.1), Llama-2 and Llama-3. Models are built
/// shape-only by default, so even gpt3-175b and llama3-405b build in kilobytes and can be traced and planned.
/// </summary>
/// <remarks>
/// Exact parameter counts (tied embeddings counted once). GPT-2 and Llama equal the Hugging Face checkpoints:
/// gpt2-small 124,439,808; gpt2-medium 354,823,168; gpt2-large 774,030,080; gpt2-xl 1,557,611,200;
/// llama2-7b 6,738,415,616; llama2-13b 13,015,864,320; llama2-70b 68,976,648,192; llama3-8b 8,030,261,248;
/// llama3-70b 70,553,706,496; llama3-405b 405,853,388,800.
/// GPT-3 (ctx 2048, learned positions, tied; the paper's figures are rounded):
/// gpt3-125m 125,226,240 (paper 125M); gpt3-350m 355,871,744 (350M); gpt3-760m 760,300,032 (760M);
/// gpt3-1.3b 1,315,723,264 (1.3B); gpt3-2.7b 2,651,553,280 (2.7B); gpt3-6.7b 6,658,404,352 (6.7B);
/// gpt3-13b 12,853,386,240 (13.0B); gpt3-175b 174,604,259,328 (175.0B) — all within 2% of the paper.
/// Deviations from table 2.1: gpt3-1.3b uses 16 heads (listed 24, which does not divide d_model 2048;
/// d_head 128 is kept) and gpt3-13b uses d_model 5120 (listed 5140 = not 40 × d_head 128).
/// The reference MLP (4096 → 8192 → 4096) has 67,121,152.
/// </remarks>
public static class ModelZoo
{
    private const int GptVocab = 50257;

    private static ModelConfig Gpt2(string name, int layers, int hidden, int heads) =>
        new(name, "gpt2", layers, hidden, heads, heads, GptVocab, 1024, 4 * hidden, TiedEmbeddings: true,
            Norm: "layernorm", Activation: "gelu_tanh", Positions: "learned", NormEps: 1e-5,
            Source: "GPT-2 (Radford et al. 2019) / Hugging Face gpt2 configs");

    private static ModelConfig Gpt3(string name, int layers, int hidden, int heads, string source) =>
        new(name, "gpt3", layers, hidden, heads, heads, GptVocab, 2048, 4 * hidden, TiedEmbeddings: true,
            Norm: "layernorm", Activation: "gelu_tanh", Positions: "learned", NormEps: 1e-5,
            Source: "GPT-3 paper (Brown et al. 2020) table 2.1" + source);

    private static ModelConfig Llama(string name, int layers, int hidden, int heads, int kvHeads, int vocab, int ctx, int ffn, double theta, string source) =>
        new(name, "llama", layers, hidden, heads, kvHeads, vocab, ctx, ffn, TiedEmbeddings: false,
            Norm: "rmsnorm", Activation: "silu", RopeTheta: theta, Positions: "rope", NormEps: 1e-5, Bias: false,
            Source: source);

    /// <summary>Every zoo model, in listing order.</summary>
    public static IReadOnlyList<ModelConfig> All { get; } =
    [
        new("mlp", "mlp", 2, 4096, 0, 0, 0, 0, 8192, TiedEmbeddings: false, Norm: "none", Activation: "gelu",
            Positions: "none", Source: "reference example: Sequential(Linear(4096, 8192), GELU(), Linear(8192, 4096))"),

        Gpt2("gpt2-small", 12, 768, 12),
        Gpt2("gpt2-medium", 24, 1024, 16),
        Gpt2("gpt2-large", 36, 1280, 20),
        Gpt2("gpt2-xl", 48, 1600, 25),

        Gpt3("gpt3-125m", 12, 768, 12, ""),
        Gpt3("gpt3-350m", 24, 1024, 16, ""),
        Gpt3("gpt3-760m", 24, 1536, 16, ""),
        // The paper lists 24 heads of width 128 with d_model 2048, which cannot both hold (24·128 = 3072);
        // we keep d_model and d_head = 128, so 16 heads (as Megatron's and GPT-Neo's 1.3B configs do).
        Gpt3("gpt3-1.3b", 24, 2048, 16, "; 16 heads instead of the listed 24 (24 does not divide d_model 2048; d_head 128 kept)"),
        Gpt3("gpt3-2.7b", 32, 2560, 32, ""),
        Gpt3("gpt3-6.7b", 32, 4096, 32, ""),
        // The paper lists d_model 5140 with 40 heads of width 128 (40·128 = 5120); 5140 is not divisible by 40.
        Gpt3("gpt3-13b", 40, 5120, 40, "; d_model 5120 instead of the listed 5140 (40 heads × d_head 128)"),
        Gpt3("gpt3-175b", 96, 12288, 96, ""),

        Llama("llama2-7b", 32, 4096, 32, 32, 32000, 4096, 11008, 10000, "Llama 2 (Touvron et al. 2023) / meta-llama/Llama-2-7b-hf"),
        Llama("llama2-13b", 40, 5120, 40, 40, 32000, 4096, 13824, 10000, "Llama 2 / meta-llama/Llama-2-13b-hf"),
        Llama("llama2-70b", 80, 8192, 64, 8, 32000, 4096, 28672, 10000, "Llama 2 / meta-llama/Llama-2-70b-hf (GQA, 8 kv heads)"),
        Llama("llama3-8b", 32, 4096, 32, 8, 128256, 8192, 14336, 500000, "Llama 3 (Meta 2024) / meta-llama/Meta-Llama-3-8B"),
        Llama("llama3-70b", 80, 8192, 64, 8, 128256, 8192, 28672, 500000, "Llama 3 / meta-llama/Meta-Llama-3-70B"),
        Llama("llama3-405b", 126, 16384, 128, 8, 128256, 8192, 53248, 500000, "Llama 3.1 405B shape (Meta 2024), context 8192 as for Llama 3"),
    ];

    /// <summary>The zoo names.</summary>
    public static IReadOnlyList<string> Names => All.Select(c => c.Name).ToList();

    /// <summary>Looks up a model (case-insensitive); unknown names throw <see cref="KeyNotFoundException"/> listing the valid ones.</summary>
    public static ModelConfig Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(c => string.Equals(c.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new KeyNotFoundException($"unknown model \"{name}\"; valid names: {string.Join(", ", Names)}");
    }

    /// <summary>
    /// Builds a model by name: shape-only (no parameter storage, see <see cref="Init.Meta"/>) unless
    /// <paramref name="materialize"/>, which allocates and initializes every parameter.
    /// </summary>
    public static Module Create(string name, bool materialize = false) => Create(Get(name), materialize);

    /// <summary>Builds a model from a configuration (see <see cref="Create(string, bool)"/>).</summary>
    public static Module Create(ModelConfig c, bool materialize = false)
    {
        if (materialize)
        {
            long bytes = ParameterCount(c) * sizeof(float);
            long avail = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            if (avail > 0 && bytes > avail / 2)
                throw new InvalidOperationException(
                    $"model '{c.Name}' needs {bytes / (1L << 30):N1} GiB of float32 parameters but only {avail / (1L << 30):N1} GiB of memory is available; build it shape-only (materialize: false)");
            return Build(c);
        }
        using (Init.Meta()) return Build(c);
    }

    private static Module Build(ModelConfig c) => c.Family switch
    {
        "mlp" => new ReferenceMlp(c.Hidden, c.FfnHidden, c.Hidden),
        "gpt2" or "gpt3" => new Gpt(c),
        "llama" => new Llama(c),
        _ => throw new NotSupportedException($"model family '{c.Family}' of '{c.Name}' has no builder"),
    };

    /// <summary>The exact parameter count, computed from the configuration alone (tied weights counted once).</summary>
    public static long ParameterCount(ModelConfig c)
    {
        long d = c.Hidden, f = c.FfnHidden, v = c.Vocab, l = c.Layers;
        switch (c.Family)
        {
            case "mlp":
                return d * f + f + f * d + d;
            case "gpt2" or "gpt3":
            {
                long perLayer = 2 * d            // ln_1
                    + 3 * d * d + 3 * d          // attn.c_attn
                    + d * d + d                  // attn.c_proj
                    + 2 * d                      // ln_2
                    + d * f + f                  // mlp.c_fc
                    + f * d + d;                 // mlp.c_proj
                return v * d * (c.TiedEmbeddings ? 1 : 2) + (long)c.SeqLen * d + l * perLayer + 2 * d;
            }
            case "llama":
            {
                long hd = c.HeadDim, q = c.Heads * hd, kv = c.KvHeads * hd;
                long perLayer = d * q + 2 * d * kv + q * d   // q, k, v, o projections
                    + 3 * d * f                              // gate, up, down
                    + 2 * d;                                 // two RMSNorms
                return v * d * (c.TiedEmbeddings ? 1 : 2) + l * perLayer + d;
            }
            default:
                throw new NotSupportedException($"model family '{c.Family}' of '{c.Name}' has no parameter formula");
        }
    }
}
