using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using WaferSharp.Compiler;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using WaferSharp.Onnx;
using WaferSharp.Tensors;
using WaferSharp.Training;
using WaferSharp.Zoo;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer compile MODEL --device wse3 [--systems N] [--mode auto|pipelined|weight-streaming] [--train|--inference]
/// [--batch-size B] [--seq-len S] [--precision bf16|fp16|fp32] [--defect-rate R --seed S | --defect-map FILE]
/// [--json plan.json] [--report plan.html]</c>: compiles a training step (forward, loss, backward, AdamW update) or an
/// inference step onto a wafer and prints the predicted performance.
/// </summary>
public static class CompileCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "zoo:NAME (see 'wafer zoo') or an .onnx file" };
        var device = new Option<string>("--device") { Description = $"target: {WaferSpec.PresetHelp}", DefaultValueFactory = _ => "wse3" };
        var systems = new Option<int>("--systems") { Description = "systems (data parallel in weight streaming; wafers for inference)", DefaultValueFactory = _ => 1 };
        var mode = new Option<string>("--mode") { Description = "auto | pipelined | weight-streaming", DefaultValueFactory = _ => "auto" };
        var train = new Option<bool>("--train") { Description = "compile a training step (default)" };
        var infer = new Option<bool>("--inference") { Description = "compile inference (prefill and decode)" };
        var batch = new Option<int>("--batch-size") { Description = "samples (sequences) per step", DefaultValueFactory = _ => 1 };
        var seq = new Option<int?>("--seq-len") { Description = "sequence length (default: the model's context length)" };
        var precision = new Option<string>("--precision") { Description = "bf16 | fp16 | fp32", DefaultValueFactory = _ => "bf16" };
        var rate = new Option<double>("--defect-rate") { Description = "fraction of dead PEs, placed at random", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the random defect map", DefaultValueFactory = _ => 0 };
        var map = new Option<string?>("--defect-map") { Description = "file of dead PEs ('x y' per line)" };
        var json = new Option<string?>("--json") { Description = "write the WaferProgram as JSON" };
        var report = new Option<string?>("--report") { Description = "write an HTML report" };
        var cmd = new Command("compile", "Compile a model onto a wafer-scale engine and predict its step time.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { device, systems, mode, train, infer, batch, seq, precision, rate, seed, map, json, report }) cmd.Options.Add(o);
        cmd.SetAction(pr => Run(pr.GetValue(model)!, pr.GetValue(device)!, pr.GetValue(systems), pr.GetValue(mode)!, pr.GetValue(train), pr.GetValue(infer),
            pr.GetValue(batch), pr.GetValue(seq), pr.GetValue(precision)!, pr.GetValue(rate), pr.GetValue(seed), pr.GetValue(map), pr.GetValue(json), pr.GetValue(report)));
        return cmd;
    }

    private static int Run(string modelArg, string deviceArg, int systems, string modeArg, bool train, bool inference, int batch, int? seqLen,
        string precisionArg, double defectRate, ulong seed, string? defectMap, string? jsonPath, string? reportPath)
    {
        if (train && inference) throw new CliErrors.UserError("give either --train or --inference, not both");
        if (batch < 1) throw new CliErrors.UserError($"--batch-size must be at least 1, got {batch}");
        if (defectMap is not null && defectRate > 0) throw new CliErrors.UserError("give either --defect-rate or --defect-map, not both");
        var spec = WaferSpec.Parse(deviceArg);
        var mode = modeArg.ToLowerInvariant() switch
        {
            "auto" => ExecutionMode.Auto,
            "pipelined" or "layer-pipelined" => ExecutionMode.Pipelined,
            "weight-streaming" or "streaming" => ExecutionMode.WeightStreaming,
            _ => throw new CliErrors.UserError($"unknown --mode '{modeArg}'; use auto, pipelined or weight-streaming"),
        };
        var precision = precisionArg.ToLowerInvariant() switch
        {
            "bf16" => Precision.Bf16,
            "fp16" => Precision.Fp16,
            "fp32" => Precision.Fp32,
            _ => throw new CliErrors.UserError($"unknown --precision '{precisionArg}'; use bf16, fp16 or fp32"),
        };
        var defects = defectMap is not null ? DefectMap.Load(defectMap, spec.Width, spec.Height)
            : defectRate > 0 ? DefectMap.Random(spec.Width, spec.Height, defectRate, seed) : null;

        var sw = Stopwatch.StartNew();
        var (src, seq, label) = BuildSource(modelArg, batch, seqLen, inference);
        var options = new CompileOptions { Wafer = spec, Systems = systems, Mode = mode, Precision = precision, Defects = defects, SeqLen = seq };
        var prog = WaferCompiler.Compile(src, options, inference);
        sw.Stop();
        if (jsonPath is not null) prog.Save(jsonPath);
        if (reportPath is not null) HtmlReport.Save(prog, reportPath);
        Print(prog, label, sw.Elapsed.TotalSeconds, jsonPath, reportPath);
        return 0;
    }

    /// <summary>The graphs for a model argument: zoo:NAME (shape-only) or an .onnx file.</summary>
    public static (ModelSource Source, int? SeqLen, string Label) BuildSource(string modelArg, int batch, int? seqLen, bool inference)
    {
        if (modelArg.StartsWith("zoo:", StringComparison.OrdinalIgnoreCase))
        {
            var cfg = ModelZoo.Get(modelArg[4..]);
            var module = ModelZoo.Create(cfg);
            int? seq = cfg.IsLanguageModel ? seqLen ?? cfg.SeqLen : null;
            if (cfg.IsLanguageModel && (seq < 1 || seq > cfg.SeqLen))
                throw new CliErrors.UserError($"--seq-len must be in 1..{cfg.SeqLen} for {cfg.Name}, got {seq}");
            int s = seq ?? 0;
            if (inference)
                return (new ModelSource
                {
                    BatchSize = batch, Trace = b => ZooTracing.TraceForward(module, cfg, b, s),
                    TraceDecode = cfg.IsLanguageModel ? b => ZooTracing.TraceForward(module, cfg, b, 1) : null,
                }, seq, cfg.Name);
            var optimizer = new AdamW(module.Parameters(), lr: 1e-4);
            return (new ModelSource
            {
                BatchSize = batch,
                Trace = b =>
                {
                    var (xt, yt) = cfg.IsLanguageModel
                        ? (new TensorType(DType.Int64, new Shape(b, s)), new TensorType(DType.Int64, new Shape(b, s)))
                        : (new TensorType(DType.Float32, new Shape(b, cfg.Hidden)), new TensorType(DType.Float32, new Shape(b, cfg.Hidden)));
                    return TrainStep.Build(module, optimizer, (m, x, y) => m.Forward(x, y), xt, yt).Graph;
                },
            }, seq, cfg.Name);
        }
        if (modelArg.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            var onnx = OnnxModel.Load(modelArg);
            var input = onnx.Inputs[0];
            // dim 0 is the batch; a symbolic dim 1 is the sequence (given by --seq-len); anything else must be concrete
            if (input.Dims is null) throw new CliErrors.UserError($"input '{input.Name}' of {modelArg} has no shape; export it with fixed shapes");
            if (input.Dims.Length > 1 && input.Dims[1] is null && seqLen is null)
                throw new CliErrors.UserError($"input '{input.Name}' of {modelArg} has a symbolic sequence dim; give --seq-len");
            if (input.Dims.Skip(2).Any(d => d is null))
                throw new CliErrors.UserError($"input '{input.Name}' of {modelArg} has symbolic feature dims; export it with fixed shapes");
            int? seqOut = input.Dims.Length > 1 && input.Dims[1] is null ? seqLen : null;
            TensorType InputAt(int b) => new(input.DType, new Shape(input.Dims.Select((d, i) => i == 0 ? b : i == 1 && d is null ? seqLen!.Value : d!.Value)));
            int fixedBatch = input.Dims.Length > 0 && input.Dims[0] is { } d0 ? d0 : batch;
            if (inference)
            {
                var others = onnx.Inputs.Skip(1).ToList();
                if (others.Count > 0) throw new CliErrors.UserError($"{modelArg} has {onnx.Inputs.Count} inputs; wafer compile takes models with one input");
                return (new ModelSource
                {
                    BatchSize = fixedBatch, Rebatchable = input.Dims.Length > 0 && input.Dims[0] is null,
                    Trace = b => OnnxImporter.Import(onnx, new Dictionary<string, TensorType> { [input.Name] = InputAt(b) }).Graph,
                }, seqOut, Path.GetFileName(modelArg));
            }
            var module = new OnnxModule(onnx);
            var optimizer = new AdamW(module.Parameters(), lr: 1e-4);
            return (new ModelSource
            {
                BatchSize = fixedBatch, Rebatchable = input.Dims.Length > 0 && input.Dims[0] is null,
                Trace = b =>
                {
                    var xt = InputAt(b);
                    var yt = module.GraphFor(xt).Graph.Outputs[0].Value.Type;
                    return TrainStep.Build(module, optimizer, (m, x, y) => F.MseLoss(m.Forward(x), y), xt, yt).Graph;
                },
            }, seqOut, Path.GetFileName(modelArg));
        }
        throw new CliErrors.UserError($"MODEL must be zoo:NAME or an .onnx file, got '{modelArg}'");
    }

    private static string N(double x, string f = "N0") => x.ToString(f, CultureInfo.InvariantCulture);

    private static void Print(WaferProgram p, string label, double seconds, string? json, string? report)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected || console.Profile.Width < 120) console.Profile.Width = 160;
        var t = new Table().Border(TableBorder.Rounded).AddColumn("").AddColumn("");
        t.HideHeaders();
        void Row(string k, string v) => t.AddRow(new Markup($"[bold]{Markup.Escape(k)}[/]"), new Text(v));
        Row("model", $"{label} ({p.Task}, batch {p.BatchSize}{(p.SeqLen is { } s ? $", seq {s}" : "")}, {p.Precision})");
        Row("device", $"{p.Device} × {p.Systems}: fabric {p.Fabric.Width}x{p.Fabric.Height}, {N(p.Fabric.UsablePes)} usable PEs, {N(p.Fabric.DefectivePes)} defective");
        Row("mode", $"{p.Mode} — {p.ModeReason}");
        Row("kernels", $"{N(p.Kernels.Count)} kernels in {N(p.Regions.Count)} regions, {N(p.Routes.Count)} routes, {N(p.PesUsed)} PEs used");
        Row("SRAM", $"{N(p.SramBytesMaxPerPe / 1024.0, "0.#")} KiB max per PE");
        if (p.Resident is { } res) Row("resident", res.Describe(p.Precision));
        Row("step", $"{N(p.StepCycles)} cycles = {N(p.StepTimeS * 1e3, "0.###")} ms (host I/O {N(p.HostIoS * 1e3, "0.###")} ms, separate)");
        Row("throughput", $"{N(p.SamplesPerS, "0.##")} samples/s" + (p.TokensPerS is { } tk ? $", {N(tk)} tokens/s" : ""));
        Row("compute", $"{N(p.Tflops, "0.##")} TFLOP/s = {N(p.Utilization * 100, "0.#")}% of {N(p.PeakTflops, "0.#")} peak");
        if (p.DecodeTokensPerS is { } d)
            Row("inference", $"prefill {N(p.PrefillTokensPerS ?? 0)} tokens/s, decode {N(d, "0.#")} tokens/s per sequence; {p.SystemsNeeded} system(s) needed");
        Row("bottleneck", p.Bottleneck);
        foreach (var n in p.Notes) Row("note", n);
        Row("compile time", $"{seconds:0.##} s" + (json is null ? "" : $"; plan → {json}") + (report is null ? "" : $"; report → {report}"));
        console.Write(t);
    }
}
