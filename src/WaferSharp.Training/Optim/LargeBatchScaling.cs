using System.Globalization;

namespace WaferSharp.Training;

/// <summary>
/// Opt-in learning-rate scaling for large batches, because the batch sizes a wafer (and data parallelism over
/// systems) affords change convergence. With a base learning rate tuned at <see cref="BaseBatch"/> samples and a
/// global batch of B samples, the target rate is
/// <list type="bullet">
/// <item><c>linear</c>: lr · B / BaseBatch (Goyal et al. 2017, "Accurate, Large Minibatch SGD" — SGD);</item>
/// <item><c>sqrt</c>: lr · √(B / BaseBatch) (Krizhevsky 2014; Hoffer et al. 2017 — the usual rule for Adam/AdamW).</item>
/// </list>
/// During the first <see cref="WarmupSteps"/> updates the factor ramps linearly from 1 (the base rate) to the target
/// (gradual warmup), so early steps at a large rate do not diverge. The factor multiplies whatever the schedule gives.
/// </summary>
/// <param name="Rule">"linear" or "sqrt".</param>
/// <param name="BaseBatch">Batch size the base learning rate was tuned for.</param>
/// <param name="WarmupSteps">Updates over which the factor ramps from 1 to its target (0 = none).</param>
public sealed record LargeBatchScaling(string Rule, int BaseBatch, int WarmupSteps = 0)
{
    /// <summary>Validates and builds a scaling rule.</summary>
    public static LargeBatchScaling Create(string rule, int baseBatch, int warmupSteps)
    {
        if (rule is not ("linear" or "sqrt")) throw new ArgumentException($"unknown learning-rate scaling rule '{rule}'; use linear or sqrt");
        if (baseBatch < 1) throw new ArgumentException($"the base batch of learning-rate scaling must be ≥ 1, got {baseBatch}");
        if (warmupSteps < 0) throw new ArgumentException($"warmup steps must be ≥ 0, got {warmupSteps}");
        return new LargeBatchScaling(rule, baseBatch, warmupSteps);
    }

    /// <summary>The target factor for a global batch.</summary>
    public double TargetFactor(long globalBatch)
    {
        double r = (double)globalBatch / BaseBatch;
        return Rule == "sqrt" ? Math.Sqrt(r) : r;
    }

    /// <summary>The factor at a 1-based step: a linear ramp from 1 to <see cref="TargetFactor"/> over the warmup.</summary>
    public double Factor(long step, long globalBatch)
    {
        double target = TargetFactor(globalBatch);
        if (WarmupSteps <= 0 || step >= WarmupSteps) return target;
        return 1 + (target - 1) * step / WarmupSteps;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Rule}(base_batch={BaseBatch}, warmup={WarmupSteps})");
}
