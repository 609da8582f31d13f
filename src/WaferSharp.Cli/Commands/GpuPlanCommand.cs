using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using WaferSharp.Gpu;
using WaferSharp.Onnx;
using WaferSharp.Zoo;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer gpu-plan MODEL --gpu G --gpus N --global-batch B --seq-len S [fixed knobs] [--top K] [--json FILE]</c>:
/// the fastest data/tensor/pipeline-parallel plan that fits, its breakdown and the top-k table. Exit 2 when no plan
/// fits (the message says how much memory is missing and what would make it fit).
/// </summary>
public static class GpuPlanCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string?>("model") { Arity = ArgumentArity.ZeroOrOne, Description = "zoo:NAME, a .onnx file, or omit and give --layers/--hidden/--heads/--vocab." };
        var gpu = new Option<string>("--gpu") { Description = "a100-40gb | a100-80gb | h100 | h200 | b200", DefaultValueFactory = _ => "h100" };
        var gpus = new Option<int>("--gpus") { Description = "Number of GPUs.", Required = true };
        var batch = new Option<int>("--global-batch") { Description = "Sequences per optimizer step.", Required = true };
        var seq = new Option<int?>("--seq-len") { Description = "Sequence length (default: the model's context)." };
        var precision = new Option<string>("--precision") { Description = "bf16 | fp8", DefaultValueFactory = _ => "bf16" };
        var tp = new Option<int?>("--tp");
        var pp = new Option<int?>("--pp");
        var dp = new Option<int?>("--dp");
        var vpp = new Option<int?>("--interleave") { Description = "Virtual pipeline stages per GPU." };
        var mb = new Option<int?>("--microbatch");
        var recompute = new Option<string?>("--recompute") { Description = "none | selective | full" };
        var zero = new Option<int?>("--zero") { Description = "ZeRO stage 0..3" };
        var spOpt = new Option<bool>("--sequence-parallel");
        var top = new Option<int>("--top") { DefaultValueFactory = _ => 5, Description = "Rows of the top-k table." };
        var json = new Option<string?>("--json") { Description = "Write the plan as JSON to this file ('-' for stdout)." };
        var dims = ModelDims.Options();
        var cmd = new Command("gpu-plan", "Find the fastest TP/PP/DP plan for training a model on a GPU cluster.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { gpu, gpus, batch, seq, precision, tp, pp, dp, vpp, mb, recompute, zero, spOpt, top, json }) cmd.Options.Add(o);
        foreach (var o in dims.All) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var cluster = ClusterSpec.Of(r.GetValue(gpu)!);
            int seqLen = r.GetValue(seq) ?? 0;
            var profile = ModelDims.Resolve(r.GetValue(model), dims, r, ref seqLen);
            var job = new TrainingJob { Model = profile, GlobalBatch = r.GetValue(batch), Precision = ParsePrecision(r.GetValue(precision)!) };
            cluster.Gpu.PeakFlops(job.Precision); // FP8 on A100 → clear error
            var k = new PlanConstraints
            {
                Tp = r.GetValue(tp), Pp = r.GetValue(pp), Dp = r.GetValue(dp), Interleave = r.GetValue(vpp), Microbatch = r.GetValue(mb),
                Zero = r.GetValue(zero), Recompute = r.GetValue(recompute) is { } rc ? ParseRecompute(rc) : null,
                SequenceParallel = r.GetValue(spOpt) ? true : null,
                MaxTp = r.GetValue(tp) is { } ft ? ft : null,
            };
            var res = Planner.Search(cluster, job, r.GetValue(gpus), k, Math.Max(1, r.GetValue(top)));
            if (res.Best is null) throw new CliErrors.UserError($"{profile.Name} on {r.GetValue(gpus)} × {cluster.Gpu.Name}: {res.Advice}");
            string? jsonPath = r.GetValue(json);
            if (jsonPath == "-") Console.Out.WriteLine(JsonSerializer.Serialize(ToJson(profile, cluster, job, res), Indented));
            else
            {
                Print(profile, cluster, job, res);
                if (jsonPath is not null) AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(ToJson(profile, cluster, job, res), Indented) + "\n");
            }
            return 0;
        });
        return cmd;
    }

    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    internal static Precision ParsePrecision(string s) => s.ToLowerInvariant() switch
    {
        "bf16" or "fp16" => Precision.Bf16,
        "fp8" => Precision.Fp8,
        "tf32" => Precision.Tf32,
        _ => throw new CliErrors.UserError($"unknown --precision '{s}'; use bf16 or fp8"),
    };

    private static Recompute ParseRecompute(string s) => s.ToLowerInvariant() switch
    {
        "none" => Recompute.None,
        "selective" => Recompute.Selective,
        "full" => Recompute.Full,
        _ => throw new CliErrors.UserError($"unknown --recompute '{s}'; use none, selective or full"),
    };

    private static string F(double x, string fmt = "0.###") => x.ToString(fmt, CultureInfo.InvariantCulture);
    private const double GiB = 1L << 30;

    private static void Print(ModelProfile m, ClusterSpec c, TrainingJob job, PlanSearchResult res)
    {
        var e = res.Best!;
        var b = e.Breakdown;
        Console.WriteLine($"{m.Name}: {(m.Parameters >= 1e9 ? $"{m.Parameters / 1e9:0.##}B" : $"{m.Parameters:N0}")} parameters, seq {m.SeqLen}, global batch {job.GlobalBatch}, {e.Plan.Gpus} × {c.Gpu.DisplayName} ({job.Precision.ToString().ToLowerInvariant()})");
        Console.WriteLine($"best plan: {e.Plan}  ({res.Evaluated:N0} plans evaluated, {res.Rejected:N0} did not fit)");
        Console.WriteLine($"  step time        {F(e.StepTimeS, "0.000")} s   ({e.Microbatches} micro-batches per pipeline)");
        Console.WriteLine($"  tokens/s         {F(e.TokensPerS, "N0")}");
        Console.WriteLine($"  TFLOP/s per GPU  {F(e.ModelTflopsPerGpu, "0.0")} model, {F(e.HardwareTflopsPerGpu, "0.0")} hardware   MFU {e.Mfu:P1}  HFU {e.Hfu:P1}");
        Console.WriteLine($"  memory per GPU   {F(e.Memory.TotalBytes / GiB, "0.0")} of {F(e.Memory.CapacityBytes / GiB, "0.0")} GiB (weights {F(e.Memory.WeightsBytes / GiB, "0.0")}, grads {F(e.Memory.GradientsBytes / GiB, "0.0")}, optimizer {F(e.Memory.OptimizerBytes / GiB, "0.0")}, activations {F(e.Memory.ActivationBytes / GiB, "0.0")})");
        Console.WriteLine($"  breakdown        compute {F(b.ComputeS, "0.000")}  recompute {F(b.RecomputeS, "0.000")}  tp {F(b.TpCommS, "0.000")}  pp {F(b.PpCommS, "0.000")}  bubble {F(b.PpBubbleS, "0.000")}  dp {F(b.DpCommS, "0.000")}  optimizer {F(b.OptimizerS, "0.000")} s");
        Console.WriteLine($"  power            {F(e.PowerW / 1000, "0.0")} kW ({F(e.EnergyPerStepJ / 3.6e6, "0.###")} kWh per step)");
        Console.WriteLine();
        Console.WriteLine($"{"#",3} {"plan",-44} {"step s",9} {"tok/s",12} {"MFU",7} {"GiB/GPU",8}");
        int i = 1;
        foreach (var t in res.Top)
            Console.WriteLine($"{i++,3} {t.Plan,-44} {F(t.StepTimeS, "0.000"),9} {F(t.TokensPerS, "N0"),12} {t.Mfu,7:P1} {F(t.Memory.TotalBytes / GiB, "0.0"),8}");
    }

    /// <summary>The JSON document of a search (snake_case keys as in the issue).</summary>
    public static Dictionary<string, object?> ToJson(ModelProfile m, ClusterSpec c, TrainingJob job, PlanSearchResult res)
    {
        var d = PlanJson(res.Best!);
        d["model"] = m.Name;
        d["parameters"] = m.Parameters;
        d["gpu"] = c.Gpu.Name;
        d["gpus"] = res.Best!.Plan.Gpus;
        d["global_batch"] = job.GlobalBatch;
        d["seq_len"] = m.SeqLen;
        d["precision"] = job.Precision.ToString().ToLowerInvariant();
        d["plans_evaluated"] = res.Evaluated;
        d["top"] = res.Top.Select(PlanJson).ToList();
        return d;
    }

    /// <summary>One plan estimate as JSON.</summary>
    public static Dictionary<string, object?> PlanJson(PlanEstimate e) => new()
    {
        ["step_time_s"] = e.StepTimeS,
        ["tokens_per_s"] = e.TokensPerS,
        ["tflops_per_gpu"] = e.ModelTflopsPerGpu,
        ["hardware_tflops_per_gpu"] = e.HardwareTflopsPerGpu,
        ["mfu"] = e.Mfu,
        ["hfu"] = e.Hfu,
        ["memory_per_gpu_gib"] = e.Memory.TotalBytes / GiB,
        ["tp"] = e.Plan.Tp,
        ["pp"] = e.Plan.Pp,
        ["dp"] = e.Plan.Dp,
        ["interleave"] = e.Plan.Interleave,
        ["microbatch"] = e.Plan.Microbatch,
        ["zero"] = e.Plan.Zero,
        ["recompute"] = e.Plan.Recompute.ToString().ToLowerInvariant(),
        ["sequence_parallel"] = e.Plan.SequenceParallel,
        ["power_w"] = e.PowerW,
        ["breakdown"] = new Dictionary<string, double>
        {
            ["compute_s"] = e.Breakdown.ComputeS,
            ["recompute_s"] = e.Breakdown.RecomputeS,
            ["tp_comm_s"] = e.Breakdown.TpCommS,
            ["pp_comm_s"] = e.Breakdown.PpCommS,
            ["pp_bubble_s"] = e.Breakdown.PpBubbleS,
            ["dp_comm_s"] = e.Breakdown.DpCommS,
            ["optimizer_s"] = e.Breakdown.OptimizerS,
        },
        ["memory"] = new Dictionary<string, double>
        {
            ["weights_gib"] = e.Memory.WeightsBytes / GiB,
            ["gradients_gib"] = e.Memory.GradientsBytes / GiB,
            ["optimizer_gib"] = e.Memory.OptimizerBytes / GiB,
            ["activations_gib"] = e.Memory.ActivationBytes / GiB,
            ["other_gib"] = e.Memory.OtherBytes / GiB,
            ["capacity_gib"] = e.Memory.CapacityBytes / GiB,
        },
    };
}

/// <summary>MODEL resolution shared by gpu-plan and gpu-infer: zoo:NAME, an .onnx file, or GPT dimensions.</summary>
internal sealed class ModelDims
{
    public required Option<int?> Layers, Hidden, Heads, Vocab;
    public Option[] All => [Layers, Hidden, Heads, Vocab];

    public static ModelDims Options() => new()
    {
        Layers = new Option<int?>("--layers") { Description = "GPT-style shape: transformer layers." },
        Hidden = new Option<int?>("--hidden") { Description = "GPT-style shape: hidden size." },
        Heads = new Option<int?>("--heads") { Description = "GPT-style shape: attention heads." },
        Vocab = new Option<int?>("--vocab") { Description = "GPT-style shape: vocabulary (default 51200)." },
    };

    public static ModelProfile Resolve(string? model, ModelDims d, ParseResult r, ref int seqLen)
    {
        int? l = r.GetValue(d.Layers), h = r.GetValue(d.Hidden), a = r.GetValue(d.Heads), v = r.GetValue(d.Vocab);
        if (model is null)
        {
            if (l is null || h is null || a is null)
                throw new CliErrors.UserError("give a MODEL (zoo:NAME or a .onnx file) or a GPT shape with --layers, --hidden and --heads");
            if (l <= 0 || h <= 0 || a <= 0 || h % a != 0) throw new CliErrors.UserError($"--hidden {h} must be a positive multiple of --heads {a}, and --layers positive");
            if (seqLen <= 0) seqLen = 2048;
            return TransformerProfile.Gpt(l.Value, h.Value, a.Value, v ?? 51200, seqLen);
        }
        if (model.StartsWith("zoo:", StringComparison.OrdinalIgnoreCase))
        {
            var cfg = ModelZoo.Get(model[4..]);
            if (seqLen <= 0) seqLen = Math.Max(1, cfg.SeqLen);
            if (!cfg.IsLanguageModel)
            {
                var g = ZooTracing.TraceForward(ModelZoo.Create(cfg), cfg, 1, seqLen);
                return GraphProfiler.FromGraph(g, 1, 1, cfg.Name);
            }
            if (seqLen > cfg.SeqLen) throw new CliErrors.UserError($"--seq-len {seqLen} exceeds the {cfg.SeqLen}-token context of {cfg.Name}");
            return TransformerProfile.FromConfig(cfg, seqLen);
        }
        if (model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(model)) throw new CliErrors.UserError($"ONNX file not found: {model}");
            var onnx = OnnxModel.Load(model);
            // symbolic dims: the first is the batch (profiled at 1), the others the sequence (--seq-len)
            int symbolicSeq = seqLen;
            var inputs = onnx.Inputs.ToDictionary(i => i.Name, i => new WaferSharp.Graph.TensorType(i.DType, new WaferSharp.Tensors.Shape(
                (i.Dims ?? []).Select((x, k) => x ?? (k == 0 ? 1 : symbolicSeq > 0 ? symbolicSeq
                    : throw new CliErrors.UserError($"input '{i.Name}' of {model} has a symbolic sequence dimension; give --seq-len"))).ToArray())));
            var imported = OnnxImporter.Import(onnx, inputs);
            var first = imported.Graph.Inputs[0].Type.Shape;
            int batch = first.Rank > 0 ? first[0] : 1;
            int s = first.Rank > 1 ? first[1] : 1;
            seqLen = s;
            return GraphProfiler.FromGraph(imported.Graph, Math.Max(1, batch), s, Path.GetFileNameWithoutExtension(model), a ?? 0);
        }
        throw new CliErrors.UserError($"MODEL '{model}' is not zoo:NAME or a .onnx file (e.g. zoo:gpt3-175b, or omit it and give --layers/--hidden/--heads)");
    }
}
