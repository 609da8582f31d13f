using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using WaferSharp.Gpu;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer gpu-infer MODEL --gpu G --gpus N [--tp T] --batch B --prompt-len L --new-tokens T [--json FILE]</c>:
/// time to first token, time per output token and throughput with tensor parallelism, and KV-cache memory.
/// </summary>
public static class GpuInferCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string?>("model") { Arity = ArgumentArity.ZeroOrOne, Description = "zoo:NAME, a .onnx file, or omit and give --layers/--hidden/--heads/--vocab." };
        var gpu = new Option<string>("--gpu") { DefaultValueFactory = _ => "h100", Description = "a100-40gb | a100-80gb | h100 | h200 | b200" };
        var gpus = new Option<int>("--gpus") { DefaultValueFactory = _ => 1 };
        var tp = new Option<int?>("--tp") { Description = "Tensor-parallel degree (default: all GPUs up to 8 that divide the heads)." };
        var precision = new Option<string>("--precision") { DefaultValueFactory = _ => "bf16" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1 };
        var prompt = new Option<int>("--prompt-len") { Required = true };
        var newTokens = new Option<int>("--new-tokens") { Required = true };
        var json = new Option<string?>("--json") { Description = "Write JSON to this file ('-' for stdout)." };
        var dims = ModelDims.Options();
        var cmd = new Command("gpu-infer", "Predict inference latency and throughput on GPUs (prefill, decode, KV cache).");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { gpu, gpus, tp, precision, batch, prompt, newTokens, json }) cmd.Options.Add(o);
        foreach (var o in dims.All) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var cluster = ClusterSpec.Of(r.GetValue(gpu)!);
            int seq = r.GetValue(prompt);
            if (seq <= 0) throw new CliErrors.UserError("--prompt-len must be positive");
            var profile = ModelDims.Resolve(r.GetValue(model), dims, r, ref seq);
            int n = r.GetValue(gpus);
            int t = r.GetValue(tp) ?? Enumerable.Range(1, Math.Min(8, Math.Max(1, n))).Where(x => n % x == 0 && profile.AllowsTensorParallel(x)).Max();
            var job = new InferenceJob(n, t, r.GetValue(batch), seq, r.GetValue(newTokens), GpuPlanCommand.ParsePrecision(r.GetValue(precision)!));
            var e = InferenceModel.Estimate(cluster, profile, job);
            const double GiB = 1L << 30;
            if (!e.Fits)
                throw new CliErrors.UserError($"{profile.Name} does not fit: {e.MemoryPerGpuBytes / GiB:N1} GiB per GPU needed (KV cache {e.KvCacheBytesPerGpu / GiB:N1}), {e.CapacityBytes / GiB:N1} available, {(e.MemoryPerGpuBytes - e.CapacityBytes) / GiB:N1} GiB missing; try a larger --tp/--gpus, a smaller --batch, or --precision fp8");
            var d = new Dictionary<string, object?>
            {
                ["model"] = profile.Name, ["gpu"] = cluster.Gpu.Name, ["gpus"] = n, ["tp"] = t, ["batch"] = job.Batch,
                ["prompt_len"] = job.PromptLen, ["new_tokens"] = job.NewTokens,
                ["ttft_s"] = e.TtftS, ["time_per_output_token_s"] = e.TimePerOutputTokenS, ["tokens_per_s_per_user"] = e.TokensPerSPerUser,
                ["tokens_per_s"] = e.TokensPerS, ["memory_per_gpu_gib"] = e.MemoryPerGpuBytes / GiB, ["kv_cache_per_gpu_gib"] = e.KvCacheBytesPerGpu / GiB,
                ["decode_memory_bound"] = e.DecodeMemoryBound, ["power_w"] = e.PowerW,
            };
            string text = JsonSerializer.Serialize(d, GpuPlanCommand.Indented);
            string? path = r.GetValue(json);
            if (path == "-") { Console.Out.WriteLine(text); return 0; }
            string F(double x, string f) => x.ToString(f, CultureInfo.InvariantCulture);
            Console.WriteLine($"{profile.Name} on {n} × {cluster.Gpu.DisplayName}, TP {t}, batch {job.Batch}, prompt {job.PromptLen}, {job.NewTokens} new tokens");
            Console.WriteLine($"  time to first token     {F(e.TtftS * 1000, "0.0")} ms");
            Console.WriteLine($"  time per output token   {F(e.TimePerOutputTokenS * 1000, "0.00")} ms ({(e.DecodeMemoryBound ? "HBM-bandwidth bound" : "compute bound")})");
            Console.WriteLine($"  tokens/s per user       {F(e.TokensPerSPerUser, "0.0")}");
            Console.WriteLine($"  tokens/s total          {F(e.TokensPerS, "0.0")}");
            Console.WriteLine($"  memory per GPU          {F(e.MemoryPerGpuBytes / GiB, "0.0")} GiB (KV cache {F(e.KvCacheBytesPerGpu / GiB, "0.00")})");
            if (path is not null) AtomicFile.WriteAllText(path, text + "\n");
            return 0;
        });
        return cmd;
    }
}
