namespace WaferSharp.Training;

/// <summary>A learning-rate schedule: the factor applied to the optimizer's base rate at a 1-based step.</summary>
public abstract class LRScheduler
{
    /// <summary>Multiplier of the base learning rate for update number <paramref name="step"/> (1-based).</summary>
    public abstract double Factor(long step);

    /// <summary>Learning rate at <paramref name="step"/>.</summary>
    public double LearningRate(double baseLr, long step) => baseLr * Factor(step);
}

/// <summary>Constant rate.</summary>
public sealed class ConstantLR : LRScheduler
{
    /// <inheritdoc/>
    public override double Factor(long step) => 1;
}

/// <summary>Linear warmup from 0 to 1 over <c>warmupSteps</c>, then an optional following schedule.</summary>
public sealed class LinearWarmup(long warmupSteps, LRScheduler? then = null) : LRScheduler
{
    /// <inheritdoc/>
    public override double Factor(long step) =>
        step <= warmupSteps ? (double)step / Math.Max(1, warmupSteps) : (then?.Factor(step - warmupSteps) ?? 1);
}

/// <summary>Cosine decay from 1 to <c>minFactor</c> over <c>totalSteps</c> (then flat).</summary>
public sealed class CosineDecay(long totalSteps, double minFactor = 0) : LRScheduler
{
    /// <inheritdoc/>
    public override double Factor(long step)
    {
        double t = Math.Clamp((double)(step - 1) / Math.Max(1, totalSteps), 0, 1);
        return minFactor + (1 - minFactor) * 0.5 * (1 + Math.Cos(Math.PI * t));
    }
}

/// <summary>StepLR: multiply by <c>gamma</c> every <c>stepSize</c> updates.</summary>
public sealed class StepDecay(long stepSize, double gamma = 0.1) : LRScheduler
{
    /// <inheritdoc/>
    public override double Factor(long step) => Math.Pow(gamma, (step - 1) / Math.Max(1, stepSize));
}
