using System.CommandLine;
using System.Text.Json;
using WaferSharp.Cli;

namespace WaferSharp.Tests.Gpu;

/// <summary>`wafer gpu-plan` / `wafer gpu-infer` through the real command tree (console capture, so not run in parallel).</summary>
[CollectionDefinition("GpuCli", DisableParallelization = true)]
public class GpuCliCollection { }

[Collection("GpuCli")]
public class GpuCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => TestUtil.RunCli(args);

    [Fact]
    public void GpuPlan_WritesJsonWithTheIssueKeys()
    {
        string path = Path.Combine(Path.GetTempPath(), $"gpu-plan-{Guid.NewGuid():N}.json");
        try
        {
            var (code, stdout, err) = Run("gpu-plan", "zoo:gpt3-13b", "--gpu", "h100", "--gpus", "64", "--global-batch", "512", "--seq-len", "2048", "--top", "3", "--json", path);
            Assert.True(code == 0, err);
            Assert.Contains("best plan", stdout);
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            foreach (var key in new[] { "step_time_s", "tokens_per_s", "tflops_per_gpu", "mfu", "hfu", "memory_per_gpu_gib", "tp", "pp", "dp", "microbatch", "zero", "recompute", "sequence_parallel", "breakdown", "top" })
                Assert.True(root.TryGetProperty(key, out _), $"missing {key}");
            foreach (var key in new[] { "compute_s", "tp_comm_s", "pp_bubble_s", "dp_comm_s" })
                Assert.True(root.GetProperty("breakdown").TryGetProperty(key, out _), $"missing breakdown.{key}");
            Assert.Equal(64, root.GetProperty("tp").GetInt32() * root.GetProperty("pp").GetInt32() * root.GetProperty("dp").GetInt32());
            Assert.Equal(3, root.GetProperty("top").GetArrayLength());
            double tokens = root.GetProperty("tokens_per_s").GetDouble(), step = root.GetProperty("step_time_s").GetDouble();
            Assert.Equal(512 * 2048 / step, tokens, 1e-6 * tokens);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void GpuPlan_FixedFlagsAndGptShape()
    {
        var (code, stdout, err) = Run("gpu-plan", "--layers", "96", "--hidden", "12288", "--heads", "96", "--gpu", "a100-80gb", "--gpus", "64",
            "--global-batch", "64", "--seq-len", "2048", "--tp", "8", "--pp", "8", "--microbatch", "1", "--recompute", "selective", "--sequence-parallel", "--json", "-");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(8, doc.RootElement.GetProperty("tp").GetInt32());
        Assert.Equal(8, doc.RootElement.GetProperty("pp").GetInt32());
        Assert.Equal("selective", doc.RootElement.GetProperty("recompute").GetString());
        Assert.True(doc.RootElement.GetProperty("sequence_parallel").GetBoolean());
    }

    [Fact]
    public void GpuPlan_DoesNotFit_Exit2WithMissingMemory()
    {
        string path = Path.Combine(Path.GetTempPath(), $"gpu-plan-{Guid.NewGuid():N}.json");
        var (code, _, err) = Run("gpu-plan", "zoo:gpt3-175b", "--gpu", "a100-80gb", "--gpus", "8", "--global-batch", "64", "--json", path);
        Assert.Equal(2, code);
        Assert.Contains("GiB missing", err);
        Assert.Contains("use at least", err);
        Assert.DoesNotContain("   at ", err);
        Assert.False(File.Exists(path));
    }

    [Theory]
    [InlineData("zoo:nope", "unknown model")]
    [InlineData("model.txt", "not zoo:NAME")]
    [InlineData("missing.onnx", "not found")]
    public void GpuPlan_BadModel_OneLineError(string model, string message)
    {
        var (code, _, err) = Run("gpu-plan", model, "--gpus", "8", "--global-batch", "8");
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void GpuPlan_Fp8OnA100_ClearError()
    {
        var (code, _, err) = Run("gpu-plan", "zoo:gpt3-1.3b", "--gpu", "a100-80gb", "--gpus", "8", "--global-batch", "64", "--precision", "fp8");
        Assert.Equal(2, code);
        Assert.Contains("FP8", err);
    }

    [Fact]
    public void GpuInfer_JsonHasTheIssueKeys()
    {
        var (code, stdout, err) = Run("gpu-infer", "zoo:llama2-70b", "--gpu", "h100", "--gpus", "8", "--batch", "16", "--prompt-len", "1024", "--new-tokens", "256", "--json", "-");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        foreach (var key in new[] { "ttft_s", "time_per_output_token_s", "tokens_per_s_per_user", "tokens_per_s", "memory_per_gpu_gib" })
            Assert.True(r.TryGetProperty(key, out _), $"missing {key}");
        Assert.Equal(8, r.GetProperty("tp").GetInt32());
        Assert.Equal(16 * r.GetProperty("tokens_per_s_per_user").GetDouble(), r.GetProperty("tokens_per_s").GetDouble(), 1e-6);
    }

    [Fact]
    public void GpuInfer_TooBig_Exit2()
    {
        var (code, _, err) = Run("gpu-infer", "zoo:llama3-405b", "--gpu", "h100", "--gpus", "1", "--prompt-len", "128", "--new-tokens", "16");
        Assert.Equal(2, code);
        Assert.Contains("does not fit", err);
    }
}
