using System.Text.Json.Nodes;

namespace WaferSharp.Training;

/// <summary>Settings of a <see cref="Trainer"/>. Only <see cref="Device"/> changes between CPU and wafer runs.</summary>
public sealed record TrainerConfig
{
    /// <summary>"cpu" (reference), or a device registered by the wafer runtime ("wse3", "mesh:8x8", …).</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Number of optimizer updates to reach.</summary>
    public long MaxSteps { get; init; } = 1000;
    /// <summary>
    /// Loss: "mse", "cross-entropy", or "model" (the model's <c>Forward(x, y)</c> returns the loss).
    /// Ignored when <see cref="LossFunction"/> is set.
    /// </summary>
    public string Loss { get; init; } = "mse";
    /// <summary>A custom loss of (output, target).</summary>
    public Func<Tensor, Tensor, Tensor>? LossFunction { get; init; }
    /// <summary>Learning-rate schedule (constant when null).</summary>
    public LRScheduler? Scheduler { get; init; }
    /// <summary>Global-norm gradient clipping threshold (none when null).</summary>
    public double? ClipGradNorm { get; init; }
    /// <summary>Micro-batches whose gradients are averaged per update.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;
    /// <summary>Seed of the per-step dropout seeds.</summary>
    public ulong Seed { get; init; }
    /// <summary>Evaluate every N updates (0 = never).</summary>
    public int EvalEvery { get; init; }
    /// <summary>Batches per evaluation (0 = one epoch of the eval loader).</summary>
    public int EvalSteps { get; init; }
    /// <summary>JSON-lines metrics file (one object per step).</summary>
    public string? MetricsPath { get; init; }
    /// <summary>Checkpoint folder.</summary>
    public string? CheckpointDir { get; init; }
    /// <summary>Checkpoint every N updates (0 = only at the end, when a folder is set).</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Checkpoints kept.</summary>
    public int KeepCheckpoints { get; init; } = 3;
    /// <summary>Continue from the newest valid checkpoint in <see cref="CheckpointDir"/>.</summary>
    public bool Resume { get; init; }
    /// <summary>Progress display: "auto" (bar when interactive, lines otherwise), "bar", "lines", "none".</summary>
    public string Progress { get; init; } = "auto";
    /// <summary>Print a progress line every N steps in "lines" mode.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>
    /// Simulated systems (data parallel): each step's global batch is split into this many equal shards, each
    /// shard's gradients are computed, the gradients averaged, and one update applied. The batch size must divide.
    /// </summary>
    public int Systems { get; init; } = 1;
    /// <summary>Timing fidelity of wafer devices: "fast" (the compiler's model) or "cycle" (cycle-level simulator, mesh:WxH only).</summary>
    public string Fidelity { get; init; } = "fast";
    /// <summary>Compute precision: "fp32", or mixed "bf16" / "fp16" (fp32 master weights, loss scaling; wafer devices).</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Opt-in large-batch learning-rate scaling (see <see cref="LargeBatchScaling"/>); null = none.</summary>
    public LargeBatchScaling? LrScaling { get; init; }

    /// <summary>The settings as JSON (for checkpoint sidecars).</summary>
    public JsonObject ToJson() => new()
    {
        ["device"] = Device, ["max_steps"] = MaxSteps, ["loss"] = LossFunction is null ? Loss : "custom",
        ["clip_grad_norm"] = ClipGradNorm, ["gradient_accumulation_steps"] = GradientAccumulationSteps,
        ["seed"] = Seed.ToString(), ["eval_every"] = EvalEvery,
        ["systems"] = Systems, ["fidelity"] = Fidelity, ["precision"] = Precision, ["lr_scaling"] = LrScaling?.ToString(),
    };
}

/// <summary>What one training step reports.</summary>
/// <param name="Step">1-based update number.</param>
/// <param name="Loss">Loss of this step's batch before the update.</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="HostSeconds">Host wall time of the step.</param>
/// <param name="SamplesPerSecond">Host throughput.</param>
/// <param name="Device">Device information of the run.</param>
/// <param name="Flops">FLOPs of one step (from the graph's cost rules).</param>
/// <param name="GradNorm">Global gradient norm before clipping (when clipping).</param>
/// <param name="EvalLoss">Evaluation loss when evaluated at this step.</param>
/// <param name="Samples">Samples in the step (global batch × accumulation).</param>
/// <param name="TokensPerSample">Tokens per sample (sequence length of integer token inputs; 0 otherwise).</param>
public sealed record StepMetrics(long Step, double Loss, double LearningRate, double HostSeconds, double SamplesPerSecond,
    DeviceRunInfo Device, long Flops, double? GradNorm = null, double? EvalLoss = null, long Samples = 0, long TokensPerSample = 0)
{
    /// <summary>Samples per second on the device (simulated time); null without device time.</summary>
    public double? DeviceSamplesPerSecond => Device.DeviceSeconds is > 0 and var s ? Samples / s : null;
    /// <summary>Tokens per second on the device; null without device time or tokens.</summary>
    public double? DeviceTokensPerSecond => TokensPerSample > 0 && DeviceSamplesPerSecond is { } sps ? sps * TokensPerSample : null;
    /// <summary>Achieved TFLOP/s on the device (graph FLOPs / device time).</summary>
    public double? DeviceTflops => Device.DeviceSeconds is > 0 and var s ? Flops / s / 1e12 : null;
    /// <summary>Achieved share of the device's peak, in percent.</summary>
    public double? PercentOfPeak => Device.DeviceSeconds is > 0 and var s && Device.PeakFlopsPerSecond is > 0 and var p ? 100.0 * Flops / s / p : null;
}

/// <summary>Outcome of <see cref="Trainer.Fit"/>.</summary>
/// <param name="Steps">Last step reached.</param>
/// <param name="FinalLoss">Loss of the last step.</param>
/// <param name="Losses">Loss of every step run in this call.</param>
/// <param name="ResumedFrom">Step restored from a checkpoint (0 when fresh).</param>
public sealed record TrainResult(long Steps, double FinalLoss, IReadOnlyList<double> Losses, long ResumedFrom);
