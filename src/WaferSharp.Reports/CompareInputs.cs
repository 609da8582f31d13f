using WaferSharp.Compiler;
using WaferSharp.Gpu;
using WaferSharp.Hardware;

namespace WaferSharp.Reports;

/// <summary>
/// The model under comparison, in the two forms the two sides read: step graphs for the wafer compiler (traced at
/// any global batch) and a <see cref="ModelProfile"/> for the GPU planner (at any sequence length). The CLI builds
/// it from <c>zoo:NAME</c> or an .onnx file; the quickstart from its own module.
/// </summary>
public sealed class CompareModel
{
    /// <summary>Name for reports.</summary>
    public required string Name { get; init; }
    /// <summary>Training sequence length; null for models without a sequence (the goal is then in samples).</summary>
    public int? SeqLen { get; init; }
    /// <summary>Parameter count (for the reference batch rule and the report).</summary>
    public required long Parameters { get; init; }
    /// <summary>The training step (forward, loss, backward, optimizer update) at a global batch.</summary>
    public required Func<int, ModelSource> TrainSource { get; init; }
    /// <summary>The GPU planner's profile at a sequence length (ignored for models without a sequence).</summary>
    public required Func<int, ModelProfile> Profile { get; init; }
    /// <summary>Inference graphs at (batch, prompt length), with a decode graph; null when inference is not supported.</summary>
    public Func<int, int, ModelSource>? InferenceSource { get; init; }

    /// <summary>Tokens per sample: the sequence length, or 1 for models without one.</summary>
    public int TokensPerSample => SeqLen ?? 1;
}

/// <summary>The inference part of a comparison (<c>--inference --prompt-len L --new-tokens T --batch B</c>).</summary>
/// <param name="PromptLen">Prompt tokens per request.</param>
/// <param name="NewTokens">Generated tokens per request.</param>
/// <param name="Batch">Concurrent requests (users).</param>
public sealed record InferenceOptions(int PromptLen, int NewTokens, int Batch);

/// <summary>What to compare: the goal, the device counts on each side, prices, power and PUE.</summary>
public sealed record ComparisonOptions
{
    /// <summary>Training goal in tokens (samples for models without a sequence).</summary>
    public required double GoalTokens { get; init; }
    /// <summary>Global batch in sequences used on both sides; null lets each side pick its own (see <see cref="BatchPolicy"/>).</summary>
    public int? GlobalBatch { get; init; }
    /// <summary>The wafer preset.</summary>
    public WaferSpec Wafer { get; init; } = WaferSpec.Wse3;
    /// <summary>Wafer system counts to evaluate.</summary>
    public IReadOnlyList<int> Systems { get; init; } = [1, 4, 16];
    /// <summary>GPU preset name (see <see cref="GpuCatalog"/>).</summary>
    public string Gpu { get; init; } = "h100";
    /// <summary>GPU counts to evaluate.</summary>
    public IReadOnlyList<int> Gpus { get; init; } = [64, 256, 1024];
    /// <summary>Price per wafer system-hour, USD; null = <see cref="CostDefaults.WaferPricePerSystemHour"/>.</summary>
    public double? PriceWaferHour { get; init; }
    /// <summary>Price per GPU-hour, USD; null = the GPU preset's price.</summary>
    public double? PriceGpuHour { get; init; }
    /// <summary>Power per wafer system, W; null = the system preset's (<see cref="SystemSpec.PowerWatts"/>).</summary>
    public double? WaferSystemPowerW { get; init; }
    /// <summary>Power usage effectiveness of the data centre (facility energy / IT energy), applied to both sides.</summary>
    public double Pue { get; init; } = CostDefaults.Pue;
    /// <summary>Inference comparison; null to skip it.</summary>
    public InferenceOptions? Inference { get; init; }
}

/// <summary>Default prices and power, with their sources (docs/HARDWARE.md, "Comparison defaults").</summary>
public static class CostDefaults
{
    /// <summary>
    /// A wafer system costs about 37× one A100 (and draws about 37× its power): WaferLLM (He et al., OSDI 2025) compares
    /// WSE-2 with the A100 this way, and WSE-3 was launched at WSE-2's price [TH-WSE3]. Source keys: shared/reference/wafer-hardware.md §11.
    /// </summary>
    public const double WaferToA100PriceRatio = 37;

    /// <summary>Default PUE: a modern, efficient data centre (a parameter; override with --pue).</summary>
    public const double Pue = 1.2;

    /// <summary>Default price per wafer system-hour: <see cref="WaferToA100PriceRatio"/> × the a100-80gb GPU-hour preset ($1.79) = $66.23.</summary>
    public static double WaferPricePerSystemHour => WaferToA100PriceRatio * GpuCatalog.Get("a100-80gb").PricePerHour;
}

/// <summary>
/// The global batch each side uses when the user gives none: a reference batch from the GPT-3 paper's table 2.1
/// (batch in tokens grows with model size: 0.5M tokens below 1B parameters, 1M below 5B, 2M below 100B, 3.2M above),
/// in sequences rounded to a multiple of 512 (GPT-3 175B: 1536) and at most <see cref="MaxSequences"/>; 1024 samples
/// for models without a sequence.
/// </summary>
public static class BatchPolicy
{
    /// <summary>Most sequences in a reference batch (for short sequences the token rule would give tens of thousands).</summary>
    public const int MaxSequences = 2048;

    /// <summary>Reference global batch in sequences (or samples).</summary>
    public static int ReferenceBatch(long parameters, int? seqLen)
    {
        if (seqLen is not { } s || s <= 0) return 1024;
        double tokens = parameters < 1_000_000_000 ? 0.5e6 : parameters < 5_000_000_000 ? 1e6 : parameters < 100_000_000_000 ? 2e6 : 3.2e6;
        double seqs = Math.Min(MaxSequences, tokens / s); // short sequences: cap the count, not the tokens
        if (seqs < 512) return (int)Math.Max(1, Math.Pow(2, Math.Round(Math.Log2(Math.Max(1, seqs)))));
        return (int)Math.Max(512, Math.Round(seqs / 512) * 512);
    }

    /// <summary>The smallest multiple of <paramref name="m"/> at least <paramref name="x"/>.</summary>
    public static int RoundUp(int x, int m) => (x + m - 1) / m * m;

    /// <summary>The learning-rate rule stated when the two sides train with different global batches.</summary>
    public const string LearningRateRule =
        "linear scaling: multiply the learning rate by the batch ratio (Goyal et al. 2017) with a linear warm-up over the first steps; " +
        "the time-to-goal assumes the same number of tokens reaches the same loss at both batches, which holds below the critical batch size (McCandlish et al. 2018)";
}
