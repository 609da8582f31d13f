using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer quickstart</c>: the README's main command. Trains the reference MLP shape (Linear → GELU → Linear
/// with AdamW) on a synthetic regression task on the CPU reference device and shows the loss falling, the
/// traced step graph's size and cost. Later stages add the wafer and GPU comparison.
/// </summary>
public static class QuickstartCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("quickstart", "Train the example MLP (Linear→GELU→Linear, AdamW) on the CPU reference device and report the run.");
        var dim = new Option<int>("--dim") { Description = "input/output width (the reference example uses 4096)", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "training steps", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch-size") { Description = "rows per batch", DefaultValueFactory = _ => 64 };
        var device = new Option<string>("--device") { Description = "device to train on", DefaultValueFactory = _ => "cpu" };
        cmd.Options.Add(dim); cmd.Options.Add(steps); cmd.Options.Add(batch); cmd.Options.Add(device);
        cmd.SetAction(pr => Run(pr.GetValue(dim), pr.GetValue(steps), pr.GetValue(batch), pr.GetValue(device)!));
        return cmd;
    }

    private sealed class MyModel(int dim) : Module
    {
        private readonly Sequential layers = new(new Linear(dim, 2 * dim), new GELU(), new Linear(2 * dim, dim));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    private static int Run(int dim, int steps, int batchSize, string device)
    {
        if (dim <= 0 || steps <= 0 || batchSize <= 0) throw new CliErrors.UserError("--dim, --steps and --batch-size must be positive");
        Generator.Default.ManualSeed(0);
        // A synthetic task with a known answer: learn a fixed random linear map plus a tanh bend.
        int n = batchSize * 16;
        var x = DenseTensor.Zeros(n, dim);
        Generator.Default.FillNormal(x.AsFloat(), 0, 1);
        var teacher = DenseTensor.Zeros(dim, dim);
        Generator.Default.FillNormal(teacher.AsFloat(), 0, 1f / MathF.Sqrt(dim));
        var y = new Tensor(x).MatMul(new Tensor(teacher)).Tanh().Data;

        var model = new MyModel(dim);
        var optimizer = new AdamW(model.Parameters(), lr: 1e-3);
        var trainer = new Trainer(model, optimizer, new TrainerConfig { Device = device, MaxSteps = steps, Progress = "auto", LogEvery = Math.Max(1, steps / 10) });
        var loader = new DataLoader(x, y, batchSize, shuffle: true, seed: 1);

        AnsiConsole.MarkupLine($"[bold]WaferSharp quickstart[/]: MLP {dim}→{2 * dim}→{dim} (GELU), AdamW lr 1e-3, batch {batchSize}, {steps} steps on [green]{device}[/]");
        AnsiConsole.MarkupLine($"model: {model.ParameterCount():N0} parameters");
        var sw = Stopwatch.StartNew();
        var result = trainer.Fit(loader);
        sw.Stop();
        var g = trainer.StepGraph!;
        var cost = g.TotalCost();
        var table = new Table().AddColumn("what").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("first loss", result.Losses[0].ToString("F4"));
        table.AddRow("final loss", result.FinalLoss.ToString("F4"));
        table.AddRow("loss reduction", $"{(1 - result.FinalLoss / result.Losses[0]) * 100:F1} %");
        table.AddRow("step graph", $"{g.Nodes.Count} nodes, {g.Parameters.Count} parameters, {g.States.Count} state tensors");
        table.AddRow("FLOPs per step", $"{cost.Flops / 1e9:F3} GFLOP");
        table.AddRow("wall time", $"{sw.Elapsed.TotalSeconds:F1} s ({steps / sw.Elapsed.TotalSeconds:F1} steps/s, {cost.Flops * (double)steps / sw.Elapsed.TotalSeconds / 1e9:F1} GFLOP/s)");
        AnsiConsole.Write(table);
        if (!(result.FinalLoss < result.Losses[0])) throw new CliErrors.UserError("training did not reduce the loss");
        return 0;
    }
}
