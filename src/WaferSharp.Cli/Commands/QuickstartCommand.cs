using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using WaferSharp.Compiler;
using WaferSharp.Graph;
using WaferSharp.Gpu;
using WaferSharp.Reports;
using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer quickstart</c>: the README's main command. Trains the reference MLP shape (Linear → GELU → Linear
/// with AdamW) on a synthetic regression task on the simulated wse3 (CPU-identical numerics, device time from the
/// compiler's model) and shows the loss falling and the device's throughput; then compares the same model on wafer systems against GPUs for a fixed
/// training goal and writes <c>quickstart-report.html</c> (in the current directory or <c>--output DIR</c>).
/// </summary>
public static class QuickstartCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("quickstart", "Train the example MLP (Linear→GELU→Linear, AdamW) on the simulated wse3 and report the run.");
        var dim = new Option<int>("--dim") { Description = "input/output width (the reference example uses 4096)", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "training steps", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch-size") { Description = "rows per batch", DefaultValueFactory = _ => 64 };
        var device = new Option<string>("--device") { Description = "device to train on", DefaultValueFactory = _ => DefaultDevice };
        var output = new Option<string>("--output") { Description = "directory for quickstart-report.html", DefaultValueFactory = _ => "." };
        var goal = new Option<string>("--goal") { Description = "training goal of the comparison, in samples", DefaultValueFactory = _ => "1e10" };
        cmd.Options.Add(dim); cmd.Options.Add(steps); cmd.Options.Add(batch); cmd.Options.Add(device); cmd.Options.Add(output); cmd.Options.Add(goal);
        cmd.SetAction(pr => Run(pr.GetValue(dim), pr.GetValue(steps), pr.GetValue(batch), pr.GetValue(device)!, pr.GetValue(output)!,
            CompareCommand.ParseGoal(pr.GetValue(goal)!)));
        return cmd;
    }

    /// <summary>The device the quickstart trains on by default.</summary>
    public const string DefaultDevice = "wse3";

    /// <summary>Wafer system counts and GPU counts the quickstart compares.</summary>
    private static readonly int[] CompareSystems = [1, 4], CompareGpus = [8, 64];

    private sealed class MyModel(int dim) : Module
    {
        private readonly Sequential layers = new(new Linear(dim, 2 * dim), new GELU(), new Linear(2 * dim, dim));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    private static int Run(int dim, int steps, int batchSize, string device, string outputDir, double goal)
    {
        if (dim <= 0 || steps <= 0 || batchSize <= 0) throw new CliErrors.UserError("--dim, --steps and --batch-size must be positive");
        if (!Directory.Exists(outputDir)) throw new CliErrors.UserError($"--output: directory {outputDir} does not exist; create it or choose another");
        WaferSharp.Runtime.WaferRuntime.Register();
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
        StepMetrics? last = null;
        trainer.StepCompleted += m => last = m;
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
        if (last is { Device.DeviceSeconds: > 0 and var devS } lm)
        {
            table.AddRow("device step time", $"{devS * 1e3:F4} ms ({lm.Device.Mode})");
            table.AddRow("device throughput", $"{lm.DeviceSamplesPerSecond:N0} samples/s, {lm.DeviceTflops:F2} TFLOP/s ({lm.PercentOfPeak:F2} % of peak)");
        }
        AnsiConsole.Write(table);
        if (!(result.FinalLoss < result.Losses[0])) throw new CliErrors.UserError("training did not reduce the loss");

        // the same model, wafer systems vs GPUs, for a fixed goal
        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine($"[bold]Comparing[/] the same MLP on {string.Join(", ", CompareSystems)} wse3 system(s) vs {string.Join(", ", CompareGpus)} H100 GPUs for {goal:0.###e0} training samples…");
        var compare = Comparison.Run(CompareModelOf(model, dim), new ComparisonOptions { GoalTokens = goal, Systems = CompareSystems, Gpus = CompareGpus });
        string path = Path.GetFullPath(Path.Combine(outputDir, "quickstart-report.html"));
        CompareReport.Save(compare, path);
        CompareCommand.Print(compare, path, null);
        AnsiConsole.MarkupLine($"[bold]report:[/] {Markup.Escape(path)}");
        return 0;
    }

    /// <summary>The quickstart model as the comparison sees it: its training step for the compiler, its forward graph for the GPU planner.</summary>
    private static CompareModel CompareModelOf(Module model, int dim)
    {
        var optimizer = new AdamW(model.Parameters(), lr: 1e-3);
        TensorType Rows(int b) => new(DType.Float32, new Shape(b, dim));
        return new CompareModel
        {
            Name = $"quickstart MLP {dim}→{2 * dim}→{dim}", SeqLen = null, Parameters = model.ParameterCount(),
            TrainSource = b => new ModelSource
            {
                BatchSize = b,
                Trace = n => TrainStep.Build(model, optimizer, (m, x, y) => F.MseLoss(m.Forward(x), y), Rows(n), Rows(n)).Graph,
            },
            Profile = _ =>
            {
                using var tracer = new Tracer(Tracer.NamesOf(model));
                foreach (var (_, p) in model.NamedParameters()) tracer.Declare(p);
                var x = tracer.Input("x", Rows(1));
                var y = tracer.Input("targets", Rows(1));
                tracer.Builder.Output("loss", tracer.ValueOf(F.MseLoss(model.Forward(x), y)));
                return GraphProfiler.FromGraph(tracer.Graph, 1, 1, $"quickstart-mlp-{dim}");
            },
        };
    }
}
