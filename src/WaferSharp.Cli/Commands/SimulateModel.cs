using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WaferSharp.Compiler;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Programs;
using WaferSharp.Graph.Execution;
using WaferSharp.Hardware;
using WaferSharp.Runtime;
using WaferSharp.Tensors.IO;

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

        double maxDiff = 0, maxRef = 0;
        void Diff(WaferSharp.Tensors.DenseTensor got, WaferSharp.Tensors.DenseTensor want)
        {
            var a = got.AsFloat32().AsFloat(); var b = want.AsFloat32().AsFloat();
            for (int i = 0; i < b.Length; i++) { maxDiff = Math.Max(maxDiff, Math.Abs((double)a[i] - b[i])); maxRef = Math.Max(maxRef, Math.Abs(b[i])); }
        }
        foreach (var (name, t) in cpu.Outputs) Diff(run.Result.Outputs[name], t);
        foreach (var (v, t) in cpu.Updates) Diff(run.Result.Updates[v], t);

        var st = run.Stats;
        double peCycles = (double)run.Cycles * spec.PeCount;
        var d = new Dictionary<string, object?>
        {
            ["model"] = label, ["device"] = spec.Name, ["precision"] = precision, ["task"] = program.Task, ["mode"] = program.Mode, ["batch_size"] = program.BatchSize,
            ["cycles"] = run.Cycles, ["predicted_cycles"] = run.PredictedCycles, ["relative_error"] = run.RelativeError,
            ["route_cycles"] = run.RouteCycles, ["optimizer_cycles"] = run.OptimizerCycles,
            ["host_computed"] = run.HostComputed, ["charged_routes"] = run.ChargedRoutes,
            ["max_abs_diff_vs_cpu"] = maxDiff, ["max_rel_diff_vs_cpu"] = maxDiff / Math.Max(1e-30, maxRef),
            ["pe_cycles_per_second"] = peCycles / Math.Max(1e-9, wall), ["wall_seconds"] = wall,
            ["pe_busy_fraction"] = st.BusyFraction, ["fmac_utilization"] = st.FmacUtilization,
            ["peak_buffer_occupancy"] = st.PeakBufferOccupancy, ["back_pressure_stalls"] = st.BackPressureStalls, ["wavelet_hops"] = st.WaveletHops,
            ["kernels"] = run.Kernels.Select(k => new Dictionary<string, object?>
            {
                ["id"] = k.Id, ["name"] = k.Name, ["op"] = k.Op, ["family"] = k.Family,
                ["simulated_cycles"] = k.SimulatedCycles, ["predicted_cycles"] = k.PredictedCycles,
            }).ToList(),
        };
        if (tracePath is not null) FabricReports.WriteChromeTrace(runner.Simulator!, tracePath);
        if (heatPath is not null) FabricReports.WriteLinkHeatmap(runner.Simulator!, heatPath);
        string text = JsonSerializer.Serialize(d, GpuPlanCommand.Indented);
        if (jsonPath == "-") { Console.Out.WriteLine(text); return 0; }
        string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
        Console.WriteLine($"{label} {program.Task} step, batch {program.BatchSize}, on {spec.Name} ({program.Mode}, {run.Kernels.Count} kernels)");
        Console.WriteLine($"  cycles            {run.Cycles} simulated, {F(run.PredictedCycles, "0")} predicted ({F(100 * run.RelativeError, "+0.0;-0.0")}%)");
        Console.WriteLine($"  vs CPU            max |diff| {F(maxDiff, "E2")} ({F(maxDiff / Math.Max(1e-30, maxRef), "E2")} relative)");
        Console.WriteLine($"  PEs busy          {F(100 * st.BusyFraction, "0.0")}%, FMAC utilization {F(100 * st.FmacUtilization, "0.0")}%");
        Console.WriteLine($"  simulation speed  {F(peCycles / Math.Max(1e-9, wall), "E2")} PE-cycles/s ({F(wall, "0.00")} s)");
        if (run.HostComputed.Count > 0) Console.WriteLine($"  host-computed     {run.HostComputed.Count} node(s): {string.Join(", ", run.HostComputed)}");
        if (jsonPath is not null) AtomicFile.WriteAllText(jsonPath, text + "\n");
        return 0;
    }
}
