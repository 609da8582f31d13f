using WaferSharp.Training;

namespace WaferSharp.Runtime;

/// <summary>Thrown inside a step to simulate the loss of a system (the runtime restarts from the last checkpoint).</summary>
public sealed class SystemFailureException(long step) : Exception($"simulated system failure during step {step}")
{
    /// <summary>The step that was running.</summary>
    public long Step { get; } = step;
}

/// <summary>One recovery: where the failure hit, where training resumed, and the work lost in between.</summary>
/// <param name="FailedAtStep">Step that was running when the system failed.</param>
/// <param name="RestoredStep">Step of the checkpoint restored (0 = the initial weights).</param>
/// <param name="LostSteps">Steps recomputed (FailedAtStep − RestoredStep).</param>
/// <param name="LostHostSeconds">Host wall time of the lost steps.</param>
/// <param name="LostDeviceSeconds">Device time of the lost steps (0 without device time).</param>
public sealed record Recovery(long FailedAtStep, long RestoredStep, long LostSteps, double LostHostSeconds, double LostDeviceSeconds);

/// <summary>Outcome of <see cref="FaultTolerantTrainer.Fit"/>.</summary>
/// <param name="Steps">Last step reached.</param>
/// <param name="FinalLoss">Loss of the last step.</param>
/// <param name="Losses">Loss of each step of the surviving timeline (recomputed steps counted once, with the final value).</param>
/// <param name="Recoveries">Every simulated failure and its recovery.</param>
public sealed record FaultTolerantResult(long Steps, double FinalLoss, IReadOnlyList<double> Losses, IReadOnlyList<Recovery> Recoveries);

/// <summary>
/// Runs a <see cref="Trainer"/> and survives system failures: when a step fails (<see cref="SystemFailureException"/>,
/// injected with <c>failAtStep</c> for <c>--fail-at-step K</c>) the runtime restores the newest checkpoint that
/// passes its checksum — or the initial weights, saved as step 0 before training — and continues. Because batches,
/// dropout seeds and schedules are functions of the step, the final weights equal an uninterrupted run's.
/// </summary>
public sealed class FaultTolerantTrainer(Module model, Optimizer optimizer, TrainerConfig config)
{
    /// <summary>At most this many restarts before giving up.</summary>
    public int MaxRestarts { get; init; } = 8;
    /// <summary>Messages about failures and recoveries (default: stdout).</summary>
    public Action<string> Log { get; init; } = Console.WriteLine;
    /// <summary>Called after every completed step (also across restarts).</summary>
    public event Action<StepMetrics>? StepCompleted;

    /// <summary>Trains to <c>config.MaxSteps</c>; <paramref name="failAtSteps"/> are steps at which a system fails once each.</summary>
    public FaultTolerantResult Fit(DataLoader train, IReadOnlyCollection<long>? failAtSteps = null)
    {
        if (config.CheckpointDir is null) throw new ArgumentException("fault tolerance restarts from checkpoints; give a checkpoint folder (--checkpoint-dir)");
        var pending = new SortedSet<long>(failAtSteps ?? []);
        if (pending.Any(s => s < 1)) throw new ArgumentException($"--fail-at-step must be ≥ 1, got {pending.Min}");
        var ckpt = new CheckpointManager(config.CheckpointDir, config.KeepCheckpoints);
        // A failure before the first checkpoint restarts from the initial weights.
        if (!config.Resume || !Directory.Exists(config.CheckpointDir) || Directory.GetFiles(config.CheckpointDir, "step-*.json").Length == 0)
        {
            if (Directory.Exists(config.CheckpointDir) && Directory.GetFiles(config.CheckpointDir, "step-*.json").Length > 0)
                throw new ArgumentException($"{config.CheckpointDir} already holds checkpoints; pass --resume to continue them or choose an empty --checkpoint-dir");
            ckpt.Save(model, optimizer, 0, Tensors.Generator.Default.State, 0, config.ToJson());
        }
        var losses = new SortedDictionary<long, double>();
        var host = new Dictionary<long, double>();
        var dev = new Dictionary<long, double>();
        var recoveries = new List<Recovery>();
        var cfg = config with { Resume = true };
        while (true)
        {
            var trainer = new Trainer(model, optimizer, cfg);
            trainer.StepCompleted += m =>
            {
                host[m.Step] = m.HostSeconds; dev[m.Step] = m.Device.DeviceSeconds ?? 0;
                if (pending.Remove(m.Step)) throw new SystemFailureException(m.Step);
                losses[m.Step] = m.Loss;
                StepCompleted?.Invoke(m);
            };
            try
            {
                var r = trainer.Fit(train);
                var list = losses.Values.ToList();
                return new FaultTolerantResult(r.Steps, list.Count > 0 ? list[^1] : double.NaN, list, recoveries);
            }
            catch (SystemFailureException e)
            {
                if (recoveries.Count >= MaxRestarts) throw new InvalidOperationException($"training failed {recoveries.Count + 1} times; giving up at step {e.Step}");
                var info = new CheckpointManager(config.CheckpointDir, config.KeepCheckpoints).RestoreLatest(model, optimizer)
                    ?? throw new InvalidOperationException($"system failed at step {e.Step} and no valid checkpoint is left in {config.CheckpointDir}");
                long lost = e.Step - info.Step;
                double lostHost = 0, lostDev = 0;
                for (long s = info.Step + 1; s <= e.Step; s++) { lostHost += host.GetValueOrDefault(s); lostDev += dev.GetValueOrDefault(s); losses.Remove(s); }
                var rec = new Recovery(e.Step, info.Step, lost, lostHost, lostDev);
                recoveries.Add(rec);
                Log($"system failure during step {e.Step}: restarting from checkpoint step {info.Step}; lost {lost} step(s) of work ({lostHost:F3} s host, {lostDev * 1e3:F3} ms device)");
            }
        }
    }
}
