namespace WaferSharp.Gpu;

/// <summary>Activation recomputation [Korthikanti et al. 2022].</summary>
public enum Recompute
{
    /// <summary>Keep every activation.</summary>
    None,
    /// <summary>Recompute only the seq²-sized attention core (scores, softmax, dropout) in backward.</summary>
    Selective,
    /// <summary>Keep only each layer's input; recompute the whole layer forward in backward.</summary>
    Full,
}

/// <summary>One parallel execution plan: TP × PP × DP GPUs, micro-batch, interleaving, ZeRO stage, recomputation, SP.</summary>
/// <param name="Tp">Tensor-parallel degree (innermost, inside a node).</param>
/// <param name="Pp">Pipeline stages.</param>
/// <param name="Dp">Data-parallel replicas.</param>
/// <param name="Microbatch">Sequences per micro-batch.</param>
/// <param name="Interleave">Virtual stages per GPU (interleaved 1F1B; 1 = plain 1F1B).</param>
/// <param name="Zero">ZeRO stage 0–3 over the DP group.</param>
/// <param name="Recompute">Activation recomputation.</param>
/// <param name="SequenceParallel">Megatron sequence parallelism (needs Tp &gt; 1).</param>
public sealed record TrainingPlan(int Tp, int Pp, int Dp, int Microbatch, int Interleave = 1, int Zero = 0,
    Recompute Recompute = Recompute.Selective, bool SequenceParallel = false)
{
    /// <summary>GPUs used.</summary>
    public int Gpus => Tp * Pp * Dp;

    /// <summary>Short form, e.g. "TP8 PP8×3 DP24 mb1 ZeRO1 selective SP".</summary>
    public override string ToString() =>
        $"TP{Tp} PP{Pp}{(Interleave > 1 ? $"×{Interleave}" : "")} DP{Dp} mb{Microbatch} ZeRO{Zero} {Recompute.ToString().ToLowerInvariant()}{(SequenceParallel ? " SP" : "")}";
}

/// <summary>The fixed part of a training problem: model, global batch, precision and software behaviour.</summary>
public sealed record TrainingJob
{
    /// <summary>The model at its training sequence length.</summary>
    public required ModelProfile Model { get; init; }
    /// <summary>Global batch in sequences per optimizer step.</summary>
    public required int GlobalBatch { get; init; }
    /// <summary>GEMM precision.</summary>
    public Precision Precision { get; init; } = Precision.Bf16;
    /// <summary>
    /// Bytes per gradient element as kept and reduced: Megatron-LM accumulates and all-reduces FP32 "main grads" (4);
    /// the ZeRO paper's accounting uses 16-bit gradients (2).
    /// </summary>
    public double GradientBytes { get; init; } = 4;
    /// <summary>Bytes of optimizer state per parameter (Adam: FP32 master, m, v = 12).</summary>
    public double OptimizerBytes { get; init; } = 12;
    /// <summary>
    /// Overlap the data-parallel gradient reduction with backward (bucketed, as in PyTorch DDP and Megatron-LM's
    /// --overlap-grad-reduce). Megatron-LM in 2021 reduced after the backward pass; its published runs set this off.
    /// </summary>
    public bool OverlapDpComm { get; init; } = true;
}

/// <summary>Where a step's time goes (seconds; the parts add up to the step time).</summary>
public sealed record StepBreakdown(double ComputeS, double RecomputeS, double TpCommS, double PpCommS, double PpBubbleS,
    double DpCommS, double OptimizerS)
{
    /// <summary>The sum.</summary>
    public double Total => ComputeS + RecomputeS + TpCommS + PpCommS + PpBubbleS + DpCommS + OptimizerS;
}

/// <summary>Memory per GPU on the fullest pipeline stage (bytes).</summary>
public sealed record MemoryBreakdown(double WeightsBytes, double GradientsBytes, double OptimizerBytes, double ActivationBytes,
    double OtherBytes, double CapacityBytes)
{
    /// <summary>Parameters, gradients and optimizer state.</summary>
    public double ModelStateBytes => WeightsBytes + GradientsBytes + OptimizerBytes;
    /// <summary>Everything.</summary>
    public double TotalBytes => ModelStateBytes + ActivationBytes + OtherBytes;
    /// <summary>Whether it fits in the usable HBM.</summary>
    public bool Fits => TotalBytes <= CapacityBytes;
    /// <summary>How much is missing (0 when it fits).</summary>
    public double MissingBytes => Math.Max(0, TotalBytes - CapacityBytes);
}

/// <summary>The predicted performance of one plan.</summary>
/// <param name="Plan">The plan.</param>
/// <param name="StepTimeS">Seconds per optimizer step.</param>
/// <param name="Breakdown">Where the time goes.</param>
/// <param name="Memory">Memory on the fullest GPU.</param>
/// <param name="TokensPerS">Training tokens per second for the whole cluster.</param>
/// <param name="ModelTflopsPerGpu">Model FLOPs (no recomputation) per second per GPU, in TFLOP/s.</param>
/// <param name="HardwareTflopsPerGpu">Hardware FLOPs (with recomputation) per second per GPU, in TFLOP/s.</param>
/// <param name="Mfu">Model FLOPs utilization.</param>
/// <param name="Hfu">Hardware FLOPs utilization.</param>
/// <param name="PowerW">Average cluster power (GPUs plus their share of the host), W.</param>
/// <param name="Microbatches">Micro-batches per pipeline per step.</param>
public sealed record PlanEstimate(TrainingPlan Plan, double StepTimeS, StepBreakdown Breakdown, MemoryBreakdown Memory,
    double TokensPerS, double ModelTflopsPerGpu, double HardwareTflopsPerGpu, double Mfu, double Hfu, double PowerW, int Microbatches)
{
    /// <summary>Whether the plan fits in memory.</summary>
    public bool Fits => Memory.Fits;
    /// <summary>Energy per step, J.</summary>
    public double EnergyPerStepJ => PowerW * StepTimeS;
}
