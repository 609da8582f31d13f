using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using WaferSharp.Gpu;
using WaferSharp.Hardware;
using WaferSharp.Onnx;
using WaferSharp.Reports;
using WaferSharp.Zoo;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer compare MODEL --tokens 3e11 [--global-batch B --seq-len S] --wafer wse3 --systems 1,4,16 --gpu h100
/// --gpus 64,256,1024 [--price-wafer-hour X --price-gpu-hour Y] [--pue 1.2] [--inference --prompt-len L
/// --new-tokens T --batch B] [--report compare.html] [--json compare.json]</c>: time, cost and energy to a fixed
/// training goal on wafer systems vs GPUs, a verdict, and an HTML report.
/// </summary>
public static class CompareCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "zoo:NAME (see 'wafer zoo') or an .onnx file" };
        var tokens = new Option<string>("--tokens") { Description = "training goal in tokens (samples for models without a sequence), e.g. 3e11", Required = true };
        var batch = new Option<int?>("--global-batch") { Description = "global batch in sequences, used on both sides (default: each side picks its own)" };
        var seq = new Option<int?>("--seq-len") { Description = "sequence length (default: the model's context)" };
        var wafer = new Option<string>("--wafer") { Description = $"wafer preset: {WaferSpec.PresetHelp}", DefaultValueFactory = _ => "wse3" };
        var systems = new Option<string>("--systems") { Description = "wafer system counts, comma-separated", DefaultValueFactory = _ => "1,4,16" };
        var gpu = new Option<string>("--gpu") { Description = "a100-40gb | a100-80gb | h100 | h200 | b200", DefaultValueFactory = _ => "h100" };
        var gpus = new Option<string>("--gpus") { Description = "GPU counts, comma-separated", DefaultValueFactory = _ => "64,256,1024" };
        var priceW = new Option<double?>("--price-wafer-hour") { Description = $"USD per wafer system-hour (default {CostDefaults.WaferPricePerSystemHour:0.##}, see docs/HARDWARE.md)" };
        var priceG = new Option<double?>("--price-gpu-hour") { Description = "USD per GPU-hour (default: the GPU preset's)" };
        var pue = new Option<double>("--pue") { Description = "data-centre power usage effectiveness", DefaultValueFactory = _ => CostDefaults.Pue };
        var inference = new Option<bool>("--inference") { Description = "also compare inference (needs --prompt-len and --new-tokens)" };
        var prompt = new Option<int?>("--prompt-len") { Description = "inference: prompt tokens" };
        var newTokens = new Option<int?>("--new-tokens") { Description = "inference: generated tokens" };
        var users = new Option<int>("--batch") { Description = "inference: concurrent requests", DefaultValueFactory = _ => 1 };
        var report = new Option<string?>("--report") { Description = "write the HTML report here" };
        var json = new Option<string?>("--json") { Description = "write the comparison as JSON here" };
        var cmd = new Command("compare", "Time, cost and energy to a training goal: wafer-scale systems vs a GPU cluster, with an HTML report.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { tokens, batch, seq, wafer, systems, gpu, gpus, priceW, priceG, pue, inference, prompt, newTokens, users, report, json }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            InferenceOptions? inf = null;
            if (r.GetValue(inference))
            {
                if (r.GetValue(prompt) is not { } l || r.GetValue(newTokens) is not { } t)
                    throw new CliErrors.UserError("--inference needs --prompt-len and --new-tokens");
                inf = new InferenceOptions(l, t, r.GetValue(users));
            }
            else if (r.GetValue(prompt) is not null || r.GetValue(newTokens) is not null)
                throw new CliErrors.UserError("--prompt-len/--new-tokens need --inference");
            var options = new ComparisonOptions
            {
                GoalTokens = ParseGoal(r.GetValue(tokens)!), GlobalBatch = r.GetValue(batch), Wafer = WaferSpec.Parse(r.GetValue(wafer)!),
                Systems = ParseCounts("--systems", r.GetValue(systems)!), Gpu = GpuCatalog.Get(r.GetValue(gpu)!).Name, Gpus = ParseCounts("--gpus", r.GetValue(gpus)!),
                PriceWaferHour = r.GetValue(priceW), PriceGpuHour = r.GetValue(priceG), Pue = r.GetValue(pue), Inference = inf,
            };
            string? reportPath = r.GetValue(report), jsonPath = r.GetValue(json);
            CheckDir(reportPath, "--report"); CheckDir(jsonPath, "--json");
            var m = ModelFor(r.GetValue(model)!, r.GetValue(seq));
            var result = Comparison.Run(m, options);
            if (jsonPath is not null) result.SaveJson(jsonPath);
            if (reportPath is not null) CompareReport.Save(result, reportPath);
            Print(result, reportPath, jsonPath);
            return 0;
        });
        return cmd;
    }

    private static void CheckDir(string? path, string option)
    {
        if (path is null) return;
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw new CliErrors.UserError($"{option}: directory {dir} does not exist; create it or choose another path");
    }

    /// <summary>Parses a goal like "3e11" or "300000000000".</summary>
    public static double ParseGoal(string s)
    {
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0) || double.IsInfinity(v))
            throw new CliErrors.UserError($"--tokens must be a positive number such as 3e11, got '{s}'");
        return v;
    }

    /// <summary>Parses "1,4,16" (empty = none).</summary>
    public static IReadOnlyList<int> ParseCounts(string option, string s)
    {
        var list = new List<int>();
        foreach (var part in s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 1)
                throw new CliErrors.UserError($"{option} takes positive counts separated by commas (e.g. 1,4,16); '{part}' is not one");
            if (!list.Contains(n)) list.Add(n);
        }
        return list;
    }

    /// <summary>The comparison's view of a MODEL argument (zoo:NAME or an .onnx file) at a sequence length (default: the model's context).</summary>
    public static CompareModel ModelFor(string modelArg, int? seqLen)
    {
        if (modelArg.StartsWith("zoo:", StringComparison.OrdinalIgnoreCase))
        {
            var cfg = ModelZoo.Get(modelArg[4..]);
            var module = ModelZoo.Create(cfg);
            int? seq = cfg.IsLanguageModel ? seqLen ?? cfg.SeqLen : null;
            if (cfg.IsLanguageModel && (seq < 1 || seq > cfg.SeqLen))
                throw new CliErrors.UserError($"--seq-len must be in 1..{cfg.SeqLen} for {cfg.Name}, got {seq}");
            return new CompareModel
            {
                Name = cfg.Name, SeqLen = seq, Parameters = module.ParameterCount(),
                TrainSource = b => CompileCommand.BuildSource(modelArg, b, seq, inference: false).Source,
                InferenceSource = cfg.IsLanguageModel ? (b, l) => CompileCommand.BuildSource(modelArg, b, l, inference: true).Source : null,
                Profile = s => cfg.IsLanguageModel ? TransformerProfile.FromConfig(cfg, Math.Min(s, cfg.SeqLen))
                    : GraphProfiler.FromGraph(ZooTracing.TraceForward(module, cfg, 1, 1), 1, 1, cfg.Name),
            };
        }
        if (modelArg.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(modelArg)) throw new CliErrors.UserError($"ONNX file not found: {modelArg}");
            var (probe, seq, label) = CompileCommand.BuildSource(modelArg, 1, seqLen, inference: false);
            var onnx = OnnxModel.Load(modelArg);
            ModelProfile Profile(int s)
            {
                var inputs = onnx.Inputs.ToDictionary(i => i.Name, i => new WaferSharp.Graph.TensorType(i.DType, new WaferSharp.Tensors.Shape(
                    (i.Dims ?? []).Select((x, k) => x ?? (k == 0 ? 1 : s)).ToArray())));
                var g = OnnxImporter.Import(onnx, inputs).Graph;
                var first = g.Inputs[0].Type.Shape;
                return GraphProfiler.FromGraph(g, first.Rank > 0 ? first[0] : 1, first.Rank > 1 ? first[1] : 1, label);
            }
            var profile = Profile(seq ?? 1);
            return new CompareModel
            {
                Name = label, SeqLen = seq, Parameters = profile.Parameters,
                TrainSource = b => CompileCommand.BuildSource(modelArg, b, seq, inference: false).Source,
                Profile = s => s == (seq ?? 1) ? profile : Profile(s),
            };
        }
        throw new CliErrors.UserError($"MODEL must be zoo:NAME or an .onnx file, got '{modelArg}'");
    }

    private static string N(double x, string f) => x.ToString(f, CultureInfo.InvariantCulture);

    /// <summary>Prints the table, the verdict and the output paths.</summary>
    public static void Print(CompareResult r, string? reportPath, string? jsonPath)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected || console.Profile.Width < 120) console.Profile.Width = 180;
        console.MarkupLine($"[bold]{Markup.Escape(r.Model)}[/]: {r.Parameters:N0} parameters, goal {Markup.Escape($"{r.GoalTokens:0.###e0}")} {r.GoalUnit}" + (r.SeqLen is { } s ? $", seq {s}" : ""));
        var t = new Table().Border(TableBorder.Rounded);
        foreach (var h in new[] { "config", "fits", "plan", "batch", "step", "time to goal", "cost", "energy", "util.", "burden" }) t.AddColumn(h);
        foreach (var c in r.Configs)
        {
            string O(double? v, Func<double, string> f) => v is { } x ? f(x) : "—";
            t.AddRow(
                new Markup((c.Kind == "wafer" ? "[darkorange3]wafer[/] " : "[dodgerblue2]gpu[/] ") + Markup.Escape(Verdict.Label(c))),
                new Text(c.Fits ? "yes" : "no: " + Trim(c.Reason ?? "", 70)),
                new Text(c.Plan), new Text(c.GlobalBatch.ToString(CultureInfo.InvariantCulture)),
                new Text(O(c.StepTimeS, Verdict.Seconds)),
                new Text(O(c.TimeToGoalS, Verdict.Duration)), new Text(O(c.CostUsd, Verdict.Money)), new Text(O(c.EnergyKwh, Verdict.Energy)),
                new Text(O(c.Utilization, Verdict.Percent)), new Text(c.Burden is { } b ? b.Score.ToString(CultureInfo.InvariantCulture) : "—"));
        }
        console.Write(t);
        if (r.Inference.Count > 0)
        {
            var q = r.InferenceRequest!;
            var it = new Table().Border(TableBorder.Rounded).Title($"inference: {q.Batch} user(s), prompt {q.PromptLen}, {q.NewTokens} new tokens");
            foreach (var h in new[] { "config", "fits", "mapping", "TTFT", "tok/s/user", "tok/s total", "J/token" }) it.AddColumn(h);
            foreach (var c in r.Inference)
            {
                string O(double? v, string f) => v is { } x ? N(x, f) : "—";
                it.AddRow(new Text($"{c.Kind} {c.Count} × {c.Device}"), new Text(c.Fits ? "yes" : "no: " + Trim(c.Reason ?? "", 60)), new Text(c.Plan),
                    new Text(c.TtftS is { } tt ? Verdict.Seconds(tt) : "—"),
                    new Text(O(c.TokensPerSPerUser, "0.##")), new Text(O(c.TokensPerS, "N0")), new Text(O(c.EnergyPerTokenJ, "0.###")));
            }
            console.Write(it);
        }
        console.WriteLine();
        console.WriteLine(r.Verdict);
        if (r.BatchNote is not null) { console.WriteLine(); console.WriteLine(r.BatchNote); }
        console.WriteLine();
        console.WriteLine($"compared in {N(r.ElapsedS, "0.#")} s" + (reportPath is null ? "" : $"; report → {reportPath}") + (jsonPath is null ? "" : $"; JSON → {jsonPath}"));
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..n] + "…";
}
