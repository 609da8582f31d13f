using System.CommandLine;
using System.Globalization;
using WaferSharp.Graph;
using WaferSharp.Onnx;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;
using WaferSharp.Training;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer train MODEL.onnx --data FILE.npz …</c>: trains the ONNX model's floating-point initializers with the
/// <see cref="Trainer"/> (the model is an <see cref="OnnxModule"/>, traced once per run) and writes the trained
/// weights as <c>DIR/final.safetensors</c>, keyed by initializer name (ready for <c>wafer export</c>).
/// </summary>
public static partial class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The .onnx model file (one input), or zoo:NAME (random init from --seed)." };
        var data = new Option<string?>("--data") { Description = "A .npz file holding the inputs and targets (zoo models: optional, synthetic data by default)." };
        var seqLen = new Option<int?>("--seq-len") { Description = "Sequence length of zoo language models (default: min(context, 128))." };
        var inKey = new Option<string>("--input-key") { Description = "Array in --data holding the model inputs (rows on axis 0).", DefaultValueFactory = _ => "x" };
        var tgtKey = new Option<string>("--target-key") { Description = "Array in --data holding the targets.", DefaultValueFactory = _ => "y" };
        var loss = new Option<string>("--loss") { Description = "mse, or cross-entropy (int64 class targets).", DefaultValueFactory = _ => "mse" };
        loss.AcceptOnlyFromAmong("mse", "cross-entropy");
        var optim = new Option<string>("--optimizer") { Description = "adamw, adam or sgd (PyTorch's defaults).", DefaultValueFactory = _ => "adamw" };
        optim.AcceptOnlyFromAmong("adamw", "adam", "sgd");
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-3 };
        var wd = new Option<double?>("--weight-decay") { Description = "Weight decay (default: 0.01 for adamw, 0 for adam and sgd)." };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.0 };
        var batch = new Option<int>("--batch-size") { Description = "Rows per batch.", DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 30 };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Batch i holds rows (i*B) mod N … +B, in file order." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the shuffle and the dropout seeds.", DefaultValueFactory = _ => 0UL };
        var metrics = new Option<string?>("--metrics") { Description = "JSON-lines file, one object per step (step, loss, …)." };
        var ckptDir = new Option<string?>("--checkpoint-dir") { Description = "Folder for checkpoints and final.safetensors." };
        var ckptEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps (0: only at the end).", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest valid checkpoint in --checkpoint-dir." };
        var device = new Option<string>("--device") { Description = "Device to train on: cpu, wse3, wse2 or mesh:WxH.", DefaultValueFactory = _ => "cpu" };
        var systems = new Option<int>("--systems") { Description = "Simulated systems: weight-streaming data parallelism over equal shards of each batch.", DefaultValueFactory = _ => 1 };
        var fidelity = new Option<string>("--fidelity") { Description = "Device timing: fast (compiler model) or cycle (cycle-level simulator, mesh:WxH only).", DefaultValueFactory = _ => "fast" };
        var precision = new Option<string>("--precision") { Description = "fp32, or mixed bf16/fp16 with fp32 master weights and loss scaling (wafer devices).", DefaultValueFactory = _ => "fp32" };
        var failAt = new Option<long[]>("--fail-at-step") { Description = "Simulate a system failure during step K (repeatable): restart from the last checkpoint.", AllowMultipleArgumentsPerToken = false };
        var defectRate = new Option<double>("--defect-rate") { Description = "Fraction of dead PEs at compile time (the program avoids them; numerics unchanged); seeded by --seed.", DefaultValueFactory = _ => 0.0 };
        var lrScaling = new Option<string?>("--lr-scaling") { Description = "Large-batch learning-rate scaling: linear or sqrt, relative to --lr-base-batch, with --warmup-steps." };
        var lrBase = new Option<int>("--lr-base-batch") { Description = "Batch size --lr was tuned for (with --lr-scaling).", DefaultValueFactory = _ => 32 };
        var warmup = new Option<int>("--warmup-steps") { Description = "Steps over which the scaled learning rate ramps up from --lr (with --lr-scaling).", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string?>("--output-dir") { Description = "Folder for final.safetensors (default: --checkpoint-dir, else the current folder)." };
        var cmd = new Command("train", "Train an ONNX model's parameters on a .npz dataset and write final.safetensors.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { data, inKey, tgtKey, loss, optim, lr, wd, momentum, batch, steps, noShuffle, seed, metrics, ckptDir, ckptEvery, resume, device, outDir,
            systems, fidelity, precision, failAt, defectRate, lrScaling, lrBase, warmup, seqLen })
            cmd.Options.Add(o);
        cmd.SetAction(pr => Run(new Args(pr.GetValue(model)!, pr.GetValue(data), pr.GetValue(inKey)!, pr.GetValue(tgtKey)!, pr.GetValue(loss)!,
            pr.GetValue(optim)!, pr.GetValue(lr), pr.GetValue(wd), pr.GetValue(momentum), pr.GetValue(batch), pr.GetValue(steps),
            pr.GetValue(noShuffle), pr.GetValue(seed), pr.GetValue(metrics), pr.GetValue(ckptDir), pr.GetValue(ckptEvery), pr.GetValue(resume),
            pr.GetValue(device)!, pr.GetValue(outDir))
        {
            Systems = pr.GetValue(systems), Fidelity = pr.GetValue(fidelity)!, Precision = pr.GetValue(precision)!, FailAtSteps = pr.GetValue(failAt) ?? [],
            DefectRate = pr.GetValue(defectRate), LrScaling = pr.GetValue(lrScaling), LrBaseBatch = pr.GetValue(lrBase), WarmupSteps = pr.GetValue(warmup),
            SeqLen = pr.GetValue(seqLen),
        }));
        return cmd;
    }

    private sealed record Args(string Model, string? Data, string InputKey, string TargetKey, string Loss, string Optimizer, double Lr,
        double? WeightDecay, double Momentum, int BatchSize, int Steps, bool NoShuffle, ulong Seed, string? Metrics, string? CheckpointDir,
        int CheckpointEvery, bool Resume, string Device, string? OutputDir)
    {
        public int Systems { get; init; } = 1;
        public string Fidelity { get; init; } = "fast";
        public string Precision { get; init; } = "fp32";
        public long[] FailAtSteps { get; init; } = [];
        public double DefectRate { get; init; }
        public string? LrScaling { get; init; }
        public int LrBaseBatch { get; init; } = 32;
        public int WarmupSteps { get; init; }
        public int? SeqLen { get; init; }
    }

    private static int Run(Args a)
    {
        if (a.BatchSize <= 0) throw new CliErrors.UserError($"--batch-size must be positive, got {a.BatchSize}");
        if (a.Steps <= 0) throw new CliErrors.UserError($"--steps must be positive, got {a.Steps}");
        if (a.Lr <= 0 || !double.IsFinite(a.Lr)) throw new CliErrors.UserError($"--lr must be a positive number, got {a.Lr}");
        if (a.CheckpointEvery < 0) throw new CliErrors.UserError($"--checkpoint-every must be ≥ 0, got {a.CheckpointEvery}");
        if (a.Resume && a.CheckpointDir is null) throw new CliErrors.UserError("--resume needs --checkpoint-dir");
        if (a.Systems < 1) throw new CliErrors.UserError($"--systems must be at least 1, got {a.Systems}");
        if (a.BatchSize % a.Systems != 0) throw new CliErrors.UserError($"--batch-size {a.BatchSize} does not split over --systems {a.Systems}; use a multiple of {a.Systems}");
        if (a.Fidelity is not ("fast" or "cycle")) throw new CliErrors.UserError($"unknown --fidelity '{a.Fidelity}'; use fast or cycle");
        if (a.Precision is not ("fp32" or "bf16" or "fp16")) throw new CliErrors.UserError($"unknown --precision '{a.Precision}'; use fp32, bf16 or fp16");
        if (a.FailAtSteps.Length > 0 && a.CheckpointDir is null) throw new CliErrors.UserError("--fail-at-step restarts from checkpoints; give --checkpoint-dir (and --checkpoint-every N)");
        if (a.FailAtSteps.Any(k => k < 1 || k > a.Steps)) throw new CliErrors.UserError($"--fail-at-step must be in 1..{a.Steps} (--steps)");
        if (a.DefectRate is < 0 or >= 1) throw new CliErrors.UserError($"--defect-rate must be in [0, 1), got {a.DefectRate}");
        bool wafer = WaferSharp.Runtime.WaferRuntime.IsWaferDevice(a.Device);
        if (!wafer && a.DefectRate > 0) throw new CliErrors.UserError("--defect-rate applies to wafer devices (wse3, wse2, mesh:WxH), not cpu");
        if (a.Fidelity == "cycle" && !a.Device.StartsWith("mesh:", StringComparison.OrdinalIgnoreCase))
            throw new CliErrors.UserError($"--fidelity cycle simulates small fabrics only; use a mesh:WxH device instead of {a.Device}, or --fidelity fast");
        if (a.Fidelity == "cycle" && WaferSharp.Runtime.WaferRuntime.CycleTimer is null)
            throw new CliErrors.UserError("--fidelity cycle needs the cycle-level fabric simulator, which is not registered in this build; use --fidelity fast");
        WaferSharp.Runtime.WaferRuntime.Register(new WaferSharp.Runtime.WaferRuntimeOptions { DefectRate = a.DefectRate, DefectSeed = a.Seed });
        var scaling = a.LrScaling is null ? null : LargeBatchScaling.Create(a.LrScaling, a.LrBaseBatch, a.WarmupSteps);
        var (module, opt, loader, source, lossName, paramCount) = a.Model.StartsWith("zoo:", StringComparison.OrdinalIgnoreCase) ? Zoo(a) : Onnx(a);
        var config = new TrainerConfig
        {
            Device = a.Device, MaxSteps = a.Steps, Loss = lossName, Seed = a.Seed, MetricsPath = a.Metrics,
            CheckpointDir = a.CheckpointDir, CheckpointEvery = a.CheckpointEvery, Resume = a.Resume,
            Progress = "lines", LogEvery = Math.Max(1, a.Steps / 10),
            Systems = a.Systems, Fidelity = a.Fidelity, Precision = a.Precision, LrScaling = scaling,
        };
        var trainer = new Trainer(module, opt, config);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"training {source}: {module.ParameterCount():N0} parameters in {paramCount} tensors, {a.Optimizer} lr {a.Lr:G}, batch {a.BatchSize}, {a.Steps} steps, {lossName} on {a.Device}"));
        IReadOnlyList<double> losses;
        long reached;
        if (a.FailAtSteps.Length > 0)
        {
            var ft = new WaferSharp.Runtime.FaultTolerantTrainer(module, opt, config);
            var r = ft.Fit(loader, a.FailAtSteps);
            losses = r.Losses; reached = r.Steps;
            long lost = r.Recoveries.Sum(x => x.LostSteps);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recovered from {r.Recoveries.Count} system failure(s); {lost} step(s) of work lost and recomputed ({r.Recoveries.Sum(x => x.LostHostSeconds):F3} s host, {r.Recoveries.Sum(x => x.LostDeviceSeconds) * 1e3:F3} ms device)"));
        }
        else
        {
            var last = (StepMetrics?)null;
            trainer.StepCompleted += m => last = m;
            var r = trainer.Fit(loader);
            losses = r.Losses; reached = r.Steps;
            if (last is { Device.DeviceSeconds: not null } lm)
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"device {a.Device} x{a.Systems} ({lm.Device.Mode}, {a.Precision}): {lm.Device.DeviceSeconds * 1e3:F4} ms/step, {lm.DeviceSamplesPerSecond:G4} samples/s, {lm.DeviceTflops:G4} TFLOP/s ({lm.PercentOfPeak:F2}% of peak); host {lm.HostSeconds * 1e3:F2} ms/step"));
        }
        var result = new TrainResult(reached, losses.Count > 0 ? losses[^1] : double.NaN, losses, 0);
        string dir = a.OutputDir ?? a.CheckpointDir ?? ".";
        Directory.CreateDirectory(dir);
        string final = Path.Combine(dir, "final.safetensors");
        var weights = module is OnnxModule om ? om.Weights() : module.StateDict();
        SafeTensors.Write(final, weights, new Dictionary<string, string> { ["source"] = source, ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture) });
        if (result.Losses.Count > 0)
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss {result.Losses[0]:F6} -> {result.FinalLoss:F6}"));
        Console.Out.WriteLine($"wrote {final}");
        return 0;
    }

    private static (Module, Optimizer, DataLoader, string, string, int) Onnx(Args a)
    {
        if (a.Data is null) throw new CliErrors.UserError("--data FILE.npz is required for ONNX models");
        var model = RunCommand.LoadModel(a.Model);
        if (model.Inputs.Count != 1)
            throw new CliErrors.UserError($"{model.Source} has {model.Inputs.Count} inputs ({string.Join(", ", model.Inputs.Select(i => i.Name))}); wafer train needs a model with exactly one input");
        RunCommand.MustExist(a.Data, "data file");
        var arrays = Npz.Read(a.Data);
        DenseTensor Array(string key, string opt) => arrays.TryGetValue(key, out var t) ? t
            : throw new CliErrors.UserError($"{a.Data} has no array '{key}' ({opt}); it holds: {string.Join(", ", arrays.Keys)}");
        var x = Array(a.InputKey, "--input-key");
        var y = Array(a.TargetKey, "--target-key");
        if (x.Rank == 0 || y.Rank == 0) throw new CliErrors.UserError("inputs and targets need a leading row axis");
        if (x.Shape[0] != y.Shape[0]) throw new CliErrors.UserError($"'{a.InputKey}' has {x.Shape[0]} rows but '{a.TargetKey}' has {y.Shape[0]}; they must match");
        if (x.Shape[0] == 0) throw new CliErrors.UserError($"'{a.InputKey}' has no rows");
        if (a.Loss == "cross-entropy" && y.DType != DType.Int64)
            throw new CliErrors.UserError($"--loss cross-entropy needs int64 class targets; '{a.TargetKey}' is {y.DType.ShortName()}{y.Shape}");
        // The batch type must be one the model accepts (checked with the model's declared input).
        var batchShape = x.Shape.With(0, a.BatchSize);
        model.CheckInputs(new Dictionary<string, (DType, Shape)> { [model.Inputs[0].Name] = (x.DType, batchShape) });

        var module = new OnnxModule(model);
        var ps = module.Parameters();
        if (ps.Count == 0) throw new CliErrors.UserError($"{model.Source} has no floating-point initializers to train");
        return (module, MakeOptimizer(a, ps), new DataLoader(x, y, a.BatchSize, shuffle: !a.NoShuffle, seed: a.Seed), model.Source, a.Loss, ps.Count);
    }

    private static Optimizer MakeOptimizer(Args a, IReadOnlyList<Parameter> ps) => a.Optimizer switch
    {
        "adamw" => new AdamW(ps, a.Lr, weightDecay: a.WeightDecay ?? 0.01),
        "adam" => new Adam(ps, a.Lr, weightDecay: a.WeightDecay ?? 0),
        _ => new SGD(ps, a.Lr, momentum: a.Momentum, weightDecay: a.WeightDecay ?? 0),
    };
}
