using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Training;

/// <summary>
/// Trains a module: traces the step once (forward, loss, backward, optimizer) into one graph, compiles it for
/// the configured device, and replays it every step with new batches. Reports progress and metrics,
/// evaluates, and checkpoints atomically; resuming reproduces the uninterrupted run's losses bit for bit.
/// </summary>
public sealed class Trainer
{
    private readonly Module _model;
    private readonly Optimizer _opt;
    private TrainStep? _step, _gradStep, _apply;
    private IGraphRunner? _runner, _gradRunner, _applyRunner;
    // Evaluation graphs by batch type: an epoch's partial last batch must not force a retrace every evaluation.
    private readonly Dictionary<(TensorType X, TensorType Y), (TrainStep Step, IGraphRunner Runner)> _evals = new();
    private long _stepFlops;
    private long _tokensPerSample;

    /// <summary>Creates a trainer.</summary>
    public Trainer(Module model, Optimizer optimizer, TrainerConfig? config = null)
    {
        _model = model; _opt = optimizer; Config = config ?? new TrainerConfig();
        if (Config.GradientAccumulationSteps < 1) throw new ArgumentOutOfRangeException(nameof(config), "GradientAccumulationSteps must be ≥ 1");
    }

    /// <summary>Settings.</summary>
    public TrainerConfig Config { get; }
    /// <summary>Called after every step.</summary>
    public event Action<StepMetrics>? StepCompleted;
    /// <summary>The traced training-step graph (after the first step).</summary>
    public Graph.Graph? StepGraph => (_step ?? _gradStep)?.Graph;

    private Func<Module, Tensor, Tensor, Tensor> LossOf() => Config.LossFunction is { } f
        ? (m, x, y) => f(m.Forward(x), y)
        : Config.Loss switch
        {
            "mse" => (m, x, y) => F.MseLoss(m.Forward(x), y),
            "cross-entropy" or "cross_entropy" or "ce" => (m, x, y) => F.CrossEntropy(m.Forward(x), y),
            "model" => (m, x, y) => m.Forward(x, y),
            _ => throw new ArgumentException($"unknown loss '{Config.Loss}'; use mse, cross-entropy or model"),
        };

    private void Compile(Batch b)
    {
        var xt = new TensorType(b.X.DType, b.X.Shape);
        var yt = new TensorType(b.Y.DType, b.Y.Shape);
        _model.Train();
        int n = Config.Systems;
        if (n < 1) throw new ArgumentException($"Systems must be at least 1, got {n}");
        int rows = b.X.Rank > 0 ? b.X.Shape[0] : 1;
        var ctx = new DeviceContext { Systems = n, Fidelity = Config.Fidelity, Precision = Config.Precision, StepBatch = rows, Microbatches = Config.GradientAccumulationSteps, Session = this };
        _tokensPerSample = b.X.DType is DType.Int64 or DType.Int32 && b.X.Rank == 2 ? b.X.Shape[1] : 0;
        if (Config.GradientAccumulationSteps == 1 && n == 1)
        {
            _step = TrainStep.Build(_model, _opt, LossOf(), xt, yt, TrainStep.Kind.Train, Config.ClipGradNorm);
            _runner = Devices.Create(Config.Device, _step.Graph, ctx);
            _stepFlops = _step.Graph.TotalCost().Flops;
        }
        else
        {
            // Data parallelism over systems: each system gets an equal shard of the global batch.
            if (rows % n != 0 || b.Y.Rank == 0 || b.Y.Shape[0] != rows)
                throw new ArgumentException($"the batch of {rows} samples does not split evenly over {n} systems; use a batch size divisible by the number of systems");
            var sxt = new TensorType(b.X.DType, b.X.Shape.With(0, rows / n));
            var syt = new TensorType(b.Y.DType, b.Y.Shape.With(0, rows / n));
            _gradStep = TrainStep.Build(_model, _opt, LossOf(), sxt, syt, TrainStep.Kind.Gradients);
            _gradRunner = Devices.Create(Config.Device, _gradStep.Graph, ctx with { Role = DeviceRole.Partial, StepBatch = rows / n });
            _apply = TrainStep.BuildApply(_model, _opt, Config.ClipGradNorm);
            // The whole step at the global batch, only for devices that time whole steps (traced lazily by them).
            var whole = new Lazy<Graph.Graph>(() => TrainStep.Build(_model, _opt, LossOf(), xt, yt, TrainStep.Kind.Train, Config.ClipGradNorm).Graph);
            _applyRunner = Devices.Create(Config.Device, _apply.Graph, ctx with { Role = DeviceRole.Apply, StepGraphFactory = () => whole.Value });
            _stepFlops = _gradStep.Graph.TotalCost().Flops * Config.GradientAccumulationSteps * n + _apply.Graph.TotalCost().Flops;
        }
    }

    /// <summary>Runs training until <see cref="TrainerConfig.MaxSteps"/>.</summary>
    public TrainResult Fit(DataLoader train, DataLoader? eval = null)
    {
        long start = 0;
        CheckpointManager? ckpt = Config.CheckpointDir is { } dir ? new CheckpointManager(dir, Config.KeepCheckpoints) : null;
        if (Config.Resume)
        {
            if (ckpt is null) throw new ArgumentException("Resume needs CheckpointDir");
            var info = ckpt.RestoreLatest(_model, _opt);
            if (info is not null) { start = info.Step; Generator.Default.State = info.RngState; }
        }
        var losses = new List<double>();
        using var metrics = Config.MetricsPath is { } mp ? new MetricsWriter(mp, append: Config.Resume && start > 0) : null;
        string mode = Config.Progress == "auto" ? (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected ? "bar" : "lines") : Config.Progress;

        void RunAll(Action<StepMetrics>? onStep)
        {
            for (long step = start + 1; step <= Config.MaxSteps; step++)
            {
                var m = RunStep(train, step);
                double? evalLoss = null;
                if (eval is not null && Config.EvalEvery > 0 && step % Config.EvalEvery == 0) evalLoss = Evaluate(eval);
                if (evalLoss is not null) m = m with { EvalLoss = evalLoss };
                losses.Add(m.Loss);
                metrics?.Write(m, Config.Device);
                onStep?.Invoke(m);
                StepCompleted?.Invoke(m);
                if (ckpt is not null && Config.CheckpointEvery > 0 && step % Config.CheckpointEvery == 0)
                    ckpt.Save(_model, _opt, step, Generator.Default.State, step * Config.GradientAccumulationSteps, Config.ToJson());
            }
        }

        if (mode == "bar" && Config.MaxSteps > start)
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: Config.MaxSteps - start);
                    RunAll(m =>
                    {
                        task.Description = Describe(m);
                        task.Increment(1);
                    });
                });
        }
        else
        {
            RunAll(m =>
            {
                if (mode == "lines" && (m.Step % Math.Max(1, Config.LogEvery) == 0 || m.Step == Config.MaxSteps || m.Step == start + 1))
                    Console.WriteLine(Describe(m));
            });
        }
        if (ckpt is not null && Config.MaxSteps > start && (Config.CheckpointEvery == 0 || Config.MaxSteps % Config.CheckpointEvery != 0))
            ckpt.Save(_model, _opt, Config.MaxSteps, Generator.Default.State, Config.MaxSteps * Config.GradientAccumulationSteps, Config.ToJson());
        return new TrainResult(Math.Max(start, Config.MaxSteps), losses.Count > 0 ? losses[^1] : double.NaN, losses, start);
    }

    private static string Describe(StepMetrics m)
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"step {m.Step} loss {m.Loss:F4} lr {m.LearningRate:G3} {m.SamplesPerSecond:F0} samples/s");
        if (m.Device.DeviceSeconds is { } ds)
        {
            s += string.Create(CultureInfo.InvariantCulture, $" | device {ds * 1e3:F3} ms, {m.DeviceSamplesPerSecond:G4} samples/s");
            if (m.DeviceTokensPerSecond is { } tps) s += string.Create(CultureInfo.InvariantCulture, $", {tps:G4} tokens/s");
            if (m.DeviceTflops is { } tf) s += string.Create(CultureInfo.InvariantCulture, $", {tf:G4} TFLOP/s");
            if (m.PercentOfPeak is { } pp) s += string.Create(CultureInfo.InvariantCulture, $" ({pp:F1}% of peak)");
            s += ", " + m.Device.Mode;
        }
        if (m.EvalLoss is { } e) s += string.Create(CultureInfo.InvariantCulture, $" eval {e:F4}");
        return s;
    }

    private StepMetrics RunStep(DataLoader train, long step)
    {
        var sw = Stopwatch.StartNew();
        double lr = Config.Scheduler?.LearningRate(_opt.LearningRate, step) ?? _opt.LearningRate;
        if (Config.LrScaling is { } scaling) lr *= scaling.Factor(step, (long)train.BatchSize * Config.GradientAccumulationSteps);
        long seed = (long)(Generator.Mix(Config.Seed ^ (ulong)step * 0xD1B54A32D192ED03UL) >> 1);
        var scalars = _opt.ScalarValues(_opt.StepCount + 1, lr);
        int k = Config.GradientAccumulationSteps, systems = Math.Max(1, Config.Systems);
        double loss;
        double? gradNorm = null;
        DeviceRunInfo info;
        if (k == 1 && systems == 1)
        {
            var batch = train.GetBatch(step - 1);
            if (_step is null) Compile(batch);
            var r = _runner!.Run(_step!.Feeds(_opt, batch, seed, scalars));
            loss = r.Outputs["loss"].Item();
            if (r.Outputs.TryGetValue("grad_norm", out var gn)) gradNorm = gn.Item();
            CheckFinite(loss, step);
            Apply(_step, r);
            info = _runner.LastRun;
        }
        else
        {
            DenseTensor[]? sum = null;
            loss = 0;
            double devSeconds = 0;
            int parts = k * systems;
            for (int j = 0; j < k; j++)
            {
                var full = train.GetBatch((step - 1) * k + j);
                if (_gradStep is null) Compile(full);
                for (int sys = 0; sys < systems; sys++)
                {
                    // System sys computes its shard's gradients; the shards' seeds differ so dropout masks do too.
                    var batch = systems == 1 ? full : Shard(full, sys, systems);
                    ulong partSeed = systems == 1 ? (ulong)seed + (ulong)j : (ulong)seed + (ulong)j * 0x9E3779B97F4A7C15UL + (ulong)sys + 1;
                    var r = _gradRunner!.Run(_gradStep!.Feeds(_opt, batch, (long)(Generator.Mix(partSeed) >> 1), scalars));
                    loss += r.Outputs["loss"].Item() / parts;
                    devSeconds += _gradRunner.LastRun.DeviceSeconds ?? 0;
                    var grads = _gradStep.Params.Select(p => r.Outputs["grad." + p.Name]).ToArray();
                    // Gradient reduction: a sum in system order, then the mean.
                    if (sum is null) sum = grads.Select(g => g.Clone()).ToArray();
                    else for (int i = 0; i < grads.Length; i++) System.Numerics.Tensors.TensorPrimitives.Add(sum[i].AsFloat(), grads[i].AsFloat(), sum[i].AsFloat());
                }
            }
            CheckFinite(loss, step);
            foreach (var s in sum!) System.Numerics.Tensors.TensorPrimitives.Multiply(s.AsFloat(), 1f / parts, s.AsFloat());
            var feeds = _apply!.Feeds(_opt, null, seed, scalars);
            for (int i = 0; i < _apply.Params.Count; i++) feeds[_apply.GradInputs[i]] = sum[i];
            var ar = _applyRunner!.Run(feeds);
            if (ar.Outputs.TryGetValue("grad_norm", out var gn)) gradNorm = gn.Item();
            Apply(_apply, ar);
            info = _applyRunner.LastRun with { DeviceSeconds = _applyRunner.LastRun.DeviceSeconds is { } a ? a + devSeconds : null };
        }
        _opt.StepCount++;
        sw.Stop();
        int batchRows = train.BatchSize * k;
        return new StepMetrics(step, loss, lr, sw.Elapsed.TotalSeconds, batchRows / Math.Max(sw.Elapsed.TotalSeconds, 1e-9), info, _stepFlops, gradNorm,
            Samples: batchRows, TokensPerSample: _tokensPerSample);
    }

    // Rows [s·B/n, (s+1)·B/n) of the batch: the shard of system s.
    private static Batch Shard(Batch b, int s, int n) => new(Rows(b.X, s, n), Rows(b.Y, s, n));

    private static DenseTensor Rows(DenseTensor t, int s, int n)
    {
        int rows = t.Shape[0] / n, rowLen = t.Length / t.Shape[0];
        var r = DenseTensor.Zeros(t.Shape.With(0, rows), t.DType);
        Array.Copy(t.Storage, (long)s * rows * rowLen, r.Storage, 0, (long)rows * rowLen);
        return r;
    }

    private void Apply(TrainStep s, WaferSharp.Graph.Execution.ExecutionResult r)
    {
        foreach (var (p, _, v, slots) in s.Params)
        {
            p.SetData(r.Updates[v]);
            if (slots.Length > 0) _opt.SetState(p, slots.Select(sv => r.Updates[sv]).ToArray());
        }
    }

    private static void CheckFinite(double loss, long step)
    {
        if (!double.IsFinite(loss))
            throw new InvalidOperationException($"loss became {loss} at step {step}; lower the learning rate, enable gradient clipping (ClipGradNorm), or check the data for NaNs");
    }

    /// <summary>Mean loss over the evaluation loader (eval mode: no dropout, no update).</summary>
    public double Evaluate(DataLoader eval)
    {
        var batches = Config.EvalSteps > 0 ? Enumerable.Range(0, Config.EvalSteps).Select(i => eval.GetBatch(i)) : eval;
        double total = 0; long count = 0;
        foreach (var b in batches)
        {
            var key = (new TensorType(b.X.DType, b.X.Shape), new TensorType(b.Y.DType, b.Y.Shape));
            if (!_evals.TryGetValue(key, out var ev))
            {
                _model.Eval();
                try
                {
                    var step = TrainStep.Build(_model, _opt, LossOf(), key.Item1, key.Item2, TrainStep.Kind.Forward);
                    _evals[key] = ev = (step, Devices.Create(Config.Device, step.Graph));
                }
                finally { _model.Train(); }
            }
            var r = ev.Runner.Run(ev.Step.Feeds(_opt, b, 0, []));
            total += r.Outputs["loss"].Item() * b.X.Shape[0];
            count += b.X.Shape[0];
        }
        return count == 0 ? double.NaN : total / count;
    }
}
