using System.Text.Json;
using System.Text.Json.Serialization;
using WaferSharp.Compiler;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Reports;

/// <summary>Where one step's time goes, in seconds (the parts add up to the step time).</summary>
/// <param name="ComputeS">Arithmetic (incl. recomputation and the optimizer update).</param>
/// <param name="CommunicationS">Exposed communication: TP/PP/DP collectives on GPUs; on-fabric traffic and the broadcast/reduce tree on the wafer.</param>
/// <param name="BubbleS">Pipeline fill and drain.</param>
/// <param name="WeightIoS">Weight streaming from external memory not hidden behind compute.</param>
/// <param name="OtherS">Fixed per-kernel latency and launch overheads.</param>
public sealed record TimeBreakdown(double ComputeS, double CommunicationS, double BubbleS, double WeightIoS, double OtherS)
{
    /// <summary>The sum.</summary>
    public double TotalS => ComputeS + CommunicationS + BubbleS + WeightIoS + OtherS;

    /// <summary>The breakdown scaled by a factor.</summary>
    public TimeBreakdown Scale(double k) => new(ComputeS * k, CommunicationS * k, BubbleS * k, WeightIoS * k, OtherS * k);
}

/// <summary>
/// The operational complexity of a plan: each parallel dimension and each non-default knob it needs counts one.
/// GPU: TP, PP, DP (dimensions); sequence parallelism, interleaving, ZeRO stage, recomputation, micro-batching
/// (knobs). Wafer: data parallelism over systems (dimension); weight streaming, gradient accumulation,
/// recomputation, pipeline micro-batches (knobs).
/// </summary>
/// <param name="Dimensions">Parallel dimensions used (degree &gt; 1).</param>
/// <param name="Knobs">Other settings the plan needs away from their defaults.</param>
/// <param name="Items">Each counted item, e.g. "TP 8", "ZeRO-1".</param>
/// <param name="Explanation">One sentence.</param>
public sealed record ParallelismBurden(int Dimensions, int Knobs, IReadOnlyList<string> Items, string Explanation)
{
    /// <summary>Dimensions + knobs.</summary>
    public int Score => Dimensions + Knobs;
}

/// <summary>What training and inference configurations share: which devices, how many, whether and how they fit.</summary>
public abstract class ConfigBase
{
    /// <summary>"wafer" or "gpu".</summary>
    public string Kind { get; set; } = "";
    /// <summary>Device preset (wse3, h100, …).</summary>
    public string Device { get; set; } = "";
    /// <summary>Systems or GPUs.</summary>
    public int Count { get; set; }
    /// <summary>Stable id, e.g. "wafer-4" or "gpu-256".</summary>
    public string Id => $"{Kind}-{Count}";
    /// <summary>Whether a plan fits (configurations that do not fit are kept, with <see cref="Reason"/>).</summary>
    public bool Fits { get; set; }
    /// <summary>Why it does not fit (null when it does).</summary>
    public string? Reason { get; set; }
    /// <summary>The plan in one line (training: for a non-fitting GPU config, the closest miss).</summary>
    public string Plan { get; set; } = "";
}

/// <summary>One training configuration (a wafer system count or a GPU count) and what it takes to reach the goal.</summary>
public sealed class TrainingConfig : ConfigBase
{
    /// <summary>The plan's settings (wafer: mode, systems, micro-batch, accumulation; GPU: tp, pp, dp, zero, recompute, …).</summary>
    public Dictionary<string, object> PlanDetail { get; set; } = new();
    /// <summary>Global batch in sequences (samples) per optimizer step.</summary>
    public int GlobalBatch { get; set; }
    /// <summary>Step time, s.</summary>
    public double? StepTimeS { get; set; }
    /// <summary>Tokens (samples for models without a sequence) per optimizer step.</summary>
    public double TokensPerStep { get; set; }
    /// <summary>Optimizer steps to reach the goal (goal / tokens per step).</summary>
    public double? StepsToGoal { get; set; }
    /// <summary>goal / tokens_per_step × step_time, s.</summary>
    public double? TimeToGoalS { get; set; }
    /// <summary>Price per device-hour (system-hour or GPU-hour), USD.</summary>
    public double PricePerDeviceHour { get; set; }
    /// <summary>count × time to goal in hours.</summary>
    public double? DeviceHours { get; set; }
    /// <summary>device-hours × price, USD.</summary>
    public double? CostUsd { get; set; }
    /// <summary>Average IT power of the whole configuration while training, kW.</summary>
    public double? PowerKw { get; set; }
    /// <summary>power × time × PUE, kWh.</summary>
    public double? EnergyKwh { get; set; }
    /// <summary>Model FLOPs / (time × peak) of the devices used.</summary>
    public double? Utilization { get; set; }
    /// <summary>What limits the step.</summary>
    public string Bottleneck { get; set; } = "";
    /// <summary>Where a step's time goes.</summary>
    public TimeBreakdown? Breakdown { get; set; }
    /// <summary>Parallelism burden.</summary>
    public ParallelismBurden? Burden { get; set; }
    /// <summary>Notes (batch choices, search size).</summary>
    public List<string> Notes { get; set; } = new();
    /// <summary>The compiled wafer program (wafer configs that fit; not serialized).</summary>
    [JsonIgnore] public WaferProgram? Program { get; set; }
}

/// <summary>One inference configuration.</summary>
public sealed class InferenceConfig : ConfigBase
{
    /// <summary>Time to first token (prefill of the batch), s.</summary>
    public double? TtftS { get; set; }
    /// <summary>Generated tokens per second per user (request).</summary>
    public double? TokensPerSPerUser { get; set; }
    /// <summary>Generated tokens per second over all users.</summary>
    public double? TokensPerS { get; set; }
    /// <summary>Average IT power, kW.</summary>
    public double? PowerKw { get; set; }
    /// <summary>Facility energy per generated token (power × PUE / tokens per second), J.</summary>
    public double? EnergyPerTokenJ { get; set; }
    /// <summary>Cost per million generated tokens, USD.</summary>
    public double? CostPerMillionTokensUsd { get; set; }
}

/// <summary>An assumption the comparison used, with its source.</summary>
/// <param name="Name">What.</param>
/// <param name="Value">The value with its unit.</param>
/// <param name="Source">Where it comes from (or how to override it).</param>
public sealed record Assumption(string Name, string Value, string Source);

/// <summary>The whole comparison: training configs on both sides, optional inference, the verdict and the assumptions.</summary>
public sealed class CompareResult
{
    /// <summary>Model name.</summary>
    public string Model { get; set; } = "";
    /// <summary>Parameters.</summary>
    public long Parameters { get; set; }
    /// <summary>The goal in tokens (samples when <see cref="GoalUnit"/> is "samples").</summary>
    public double GoalTokens { get; set; }
    /// <summary>"tokens" or "samples".</summary>
    public string GoalUnit { get; set; } = "tokens";
    /// <summary>Sequence length (null without a sequence).</summary>
    public int? SeqLen { get; set; }
    /// <summary>The reference global batch of <see cref="BatchPolicy"/> (or the user's).</summary>
    public int ReferenceBatch { get; set; }
    /// <summary>Whether the user fixed the global batch for both sides.</summary>
    public bool BatchFixedByUser { get; set; }
    /// <summary>Wafer preset.</summary>
    public string Wafer { get; set; } = "";
    /// <summary>GPU preset.</summary>
    public string Gpu { get; set; } = "";
    /// <summary>Training configurations, wafer first, in the order given.</summary>
    public List<TrainingConfig> Configs { get; set; } = new();
    /// <summary>Inference request, when compared.</summary>
    public InferenceOptions? InferenceRequest { get; set; }
    /// <summary>Inference configurations.</summary>
    public List<InferenceConfig> Inference { get; set; } = new();
    /// <summary>One paragraph: faster, cheaper, greener, by how much and why.</summary>
    public string Verdict { get; set; } = "";
    /// <summary>Convergence note when the two sides use different global batches (null otherwise).</summary>
    public string? BatchNote { get; set; }
    /// <summary>Assumptions used.</summary>
    public List<Assumption> Assumptions { get; set; } = new();
    /// <summary>Seconds the comparison took.</summary>
    public double ElapsedS { get; set; }

    /// <summary>JSON options: snake_case, nulls kept (a non-fitting config shows its empty fields).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The comparison as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Writes the JSON atomically (temp file in the same directory, then rename).</summary>
    public void SaveJson(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");
}
