using System.Diagnostics;
using WaferSharp.Compiler;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Programs;
using WaferSharp.Graph.Execution;
using WaferSharp.Hardware;
using WaferSharp.Runtime;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer simulate MODEL --device mesh:WxH [--train|--inference] [--batch-size B] [--seq-len T]</c>: compiles the model's step,
/// runs the whole program on the cycle-level fabric simulator (<see cref="WaferProgramRunner"/>) with deterministic
/// synthetic inputs and weights, checks every output and update against the CPU executor, and compares the simulated
/// cycles with the compiler's prediction, per kernel and in total.
/// </summary>
internal static class SimulateModel
{
    public static int Run(string modelArg, string deviceArg, bool train, bool inference, int batch, int? seqLen, string precision,
        string? tracePath, string? heatPath, string? jsonPath)
    {
        if (train && inference) throw new CliErrors.UserError("give either --train or --inference, not both");
        if (batch < 1) throw new CliErrors.UserError($"--batch-size must be at least 1, got {batch}");
        var half = precision switch
        {
            "fp32" => (WaferSharp.Tensors.DType?)null,
            "bf16" => WaferSharp.Tensors.DType.BFloat16,
            "fp16" => WaferSharp.Tensors.DType.Float16,
            _ => throw new CliErrors.UserError($"unknown --precision '{precision}'; use fp32, bf16 or fp16"),
        };
        var spec = WaferSpec.Parse(deviceArg);
        if (!spec.Name.StartsWith("mesh:", StringComparison.OrdinalIgnoreCase))
            throw new CliErrors.UserError($"the fabric simulator runs small fabrics; use a mesh:WxH device instead of {spec.Name}");
        var (src, seq, label) = CompileCommand.BuildSource(modelArg, batch, seqLen, inference);
        var graph = src.Trace(src.BatchSize);
        // 16-bit: the runtime's mixed-precision rewrite (16-bit weights, activations and gradients; fp32 master weights
        // and optimizer), compiled at that precision; GEMMs then run as 16-bit SUMMA on the fabric
        if (half is { } h) graph = MixedPrecision.Rewrite(graph, h).Graph;
        var prec = half switch { WaferSharp.Tensors.DType.BFloat16 => Precision.Bf16, WaferSharp.Tensors.DType.Float16 => Precision.Fp16, _ => Precision.Fp32 };
        var program = WaferCompiler.Compile(graph, src.BatchSize, new CompileOptions { Wafer = spec, Precision = prec, SeqLen = seq });
        var feeds = FabricCycleTimer.SyntheticFeeds(graph);
        foreach (var v in graph.Inputs)
            if (v.Name == MixedPrecision.LossScaleInput) feeds[v] = WaferSharp.Tensors.DenseTensor.FromArray([1f]).Reshape([]); // no loss scaling on synthetic data
        var cpu = new CpuExecutor(graph).Run(feeds);
        var runner = new WaferProgramRunner(graph, program, spec, new FabricOptions { Trace = tracePath is not null });
        var sw = Stopwatch.StartNew();
        ProgramRun run;
        try { run = runner.Run(feeds); }
        catch (NotSupportedException e) { throw new CliErrors.UserError(e.Message); }
        double wall = sw.Elapsed.TotalSeconds;

        var report = new SimulateReport();
        foreach (var (name, t) in cpu.Outputs) report.Compare(run.Result.Outputs[name].AsFloat32().AsFloat(), t.AsFloat32().AsFloat());
        foreach (var (v, t) in cpu.Updates) report.Compare(run.Result.Updates[v].AsFloat32().AsFloat(), t.AsFloat32().AsFloat());
        var d = new Dictionary<string, object?>
        {
            ["model"] = label, ["device"] = spec.Name, ["precision"] = precision, ["task"] = program.Task, ["mode"] = program.Mode, ["batch_size"] = program.BatchSize,
            ["route_cycles"] = run.RouteCycles, ["optimizer_cycles"] = run.OptimizerCycles,
            ["host_computed"] = run.HostComputed, ["charged_routes"] = run.ChargedRoutes,
            ["kernels"] = run.Kernels.Select(k => new Dictionary<string, object?>
            {
                ["id"] = k.Id, ["name"] = k.Name, ["op"] = k.Op, ["family"] = k.Family,
                ["simulated_cycles"] = k.SimulatedCycles, ["predicted_cycles"] = k.PredictedCycles,
            }).ToList(),
        };
        var extra = run.HostComputed.Count > 0 ? [$"  host-computed     {run.HostComputed.Count} node(s): {string.Join(", ", run.HostComputed)}"] : new List<string>();
        return report.Write(d, runner.Simulator!, run.Stats, run.Cycles, run.PredictedCycles, spec.PeCount, wall, tracePath, heatPath, jsonPath,
            $"{label} {program.Task} step, batch {program.BatchSize}, on {spec.Name} ({program.Mode}, {run.Kernels.Count} kernels)", extra);
    }
}
