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
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The .onnx model file (one input)." };
        var data = new Option<string>("--data") { Description = "A .npz file holding the inputs and targets.", Required = true };
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
        var device = new Option<string>("--device") { Description = "Device to train on.", DefaultValueFactory = _ => "cpu" };
        var outDir = new Option<string?>("--output-dir") { Description = "Folder for final.safetensors (default: --checkpoint-dir, else the current folder)." };
        var cmd = new Command("train", "Train an ONNX model's parameters on a .npz dataset and write final.safetensors.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { data, inKey, tgtKey, loss, optim, lr, wd, momentum, batch, steps, noShuffle, seed, metrics, ckptDir, ckptEvery, resume, device, outDir })
            cmd.Options.Add(o);
        cmd.SetAction(pr => Run(new Args(pr.GetValue(model)!, pr.GetValue(data)!, pr.GetValue(inKey)!, pr.GetValue(tgtKey)!, pr.GetValue(loss)!,
            pr.GetValue(optim)!, pr.GetValue(lr), pr.GetValue(wd), pr.GetValue(momentum), pr.GetValue(batch), pr.GetValue(steps),
            pr.GetValue(noShuffle), pr.GetValue(seed), pr.GetValue(metrics), pr.GetValue(ckptDir), pr.GetValue(ckptEvery), pr.GetValue(resume),
            pr.GetValue(device)!, pr.GetValue(outDir))));
        return cmd;
    }

    private sealed record Args(string Model, string Data, string InputKey, string TargetKey, string Loss, string Optimizer, double Lr,
        double? WeightDecay, double Momentum, int BatchSize, int Steps, bool NoShuffle, ulong Seed, string? Metrics, string? CheckpointDir,
        int CheckpointEvery, bool Resume, string Device, string? OutputDir);

    private static int Run(Args a)
    {
        if (a.BatchSize <= 0) throw new CliErrors.UserError($"--batch-size must be positive, got {a.BatchSize}");
        if (a.Steps <= 0) throw new CliErrors.UserError($"--steps must be positive, got {a.Steps}");
        if (a.Lr <= 0 || !double.IsFinite(a.Lr)) throw new CliErrors.UserError($"--lr must be a positive number, got {a.Lr}");
        if (a.CheckpointEvery < 0) throw new CliErrors.UserError($"--checkpoint-every must be ≥ 0, got {a.CheckpointEvery}");
        if (a.Resume && a.CheckpointDir is null) throw new CliErrors.UserError("--resume needs --checkpoint-dir");
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
        Optimizer opt = a.Optimizer switch
        {
            "adamw" => new AdamW(ps, a.Lr, weightDecay: a.WeightDecay ?? 0.01),
            "adam" => new Adam(ps, a.Lr, weightDecay: a.WeightDecay ?? 0),
            _ => new SGD(ps, a.Lr, momentum: a.Momentum, weightDecay: a.WeightDecay ?? 0),
        };
        var config = new TrainerConfig
        {
            Device = a.Device, MaxSteps = a.Steps, Loss = a.Loss, Seed = a.Seed, MetricsPath = a.Metrics,
            CheckpointDir = a.CheckpointDir, CheckpointEvery = a.CheckpointEvery, Resume = a.Resume,
            Progress = "lines", LogEvery = Math.Max(1, a.Steps / 10),
        };
        var loader = new DataLoader(x, y, a.BatchSize, shuffle: !a.NoShuffle, seed: a.Seed);
        var trainer = new Trainer(module, opt, config);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"training {model.Source}: {module.ParameterCount():N0} parameters in {ps.Count} tensors, {a.Optimizer} lr {a.Lr:G}, batch {a.BatchSize}, {a.Steps} steps, {a.Loss} on {a.Device}"));
        var result = trainer.Fit(loader);
        string dir = a.OutputDir ?? a.CheckpointDir ?? ".";
        Directory.CreateDirectory(dir);
        string final = Path.Combine(dir, "final.safetensors");
        SafeTensors.Write(final, module.Weights(), new Dictionary<string, string> { ["source"] = model.Source, ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture) });
        if (result.Losses.Count > 0)
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss {result.Losses[0]:F6} -> {result.FinalLoss:F6}"));
        Console.Out.WriteLine($"wrote {final}");
        return 0;
    }
}
