using System.Text.Json;

namespace WaferSharp.Tests.Fabric;

/// <summary><c>wafer simulate MODEL</c>: a whole compiled step on the fabric simulator from the CLI.</summary>
[Collection("RuntimeCli")]
public class SimulateModelCliTests
{
    [Fact]
    public void SimulatesAnOnnxTrainingStepAndWritesJsonAtomically()
    {
        var dir = Path.Combine(Path.GetTempPath(), "wafersharp-simmodel-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "out.json"), trace = Path.Combine(dir, "t.json"), heat = Path.Combine(dir, "h.svg");
            var (code, outText, err) = TestUtil.RunCli("simulate", TestUtil.Fixture("onnx", "mlp_gelu.onnx"), "--device", "mesh:32x32", "--train",
                "--batch-size", "8", "--json", json, "--trace", trace, "--link-heatmap", heat);
            Assert.True(code == 0, err);
            Assert.Contains("simulated", outText);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var r = doc.RootElement;
            long cycles = r.GetProperty("cycles").GetInt64();
            double predicted = r.GetProperty("predicted_cycles").GetDouble();
            Assert.True(cycles > 0 && predicted > 0);
            Assert.Equal((predicted - cycles) / cycles, r.GetProperty("relative_error").GetDouble(), 9);
            Assert.True(r.GetProperty("max_rel_diff_vs_cpu").GetDouble() < 1e-5);
            Assert.True(r.GetProperty("pe_cycles_per_second").GetDouble() > 0);
            var kernels = r.GetProperty("kernels").EnumerateArray().ToList();
            Assert.NotEmpty(kernels);
            Assert.Contains(kernels, k => k.GetProperty("family").GetString() == "Gemm" && k.GetProperty("simulated_cycles").GetInt64() > 0);
            Assert.All(kernels, k => Assert.True(k.GetProperty("predicted_cycles").GetDouble() >= 0));
            Assert.False(File.Exists(json + ".tmp"));
            Assert.Contains("traceEvents", File.ReadAllText(trace));
            Assert.StartsWith("<svg", File.ReadAllText(heat).TrimStart());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void SimulatesABf16TrainingStepWithinBf16Tolerance()
    {
        var (code, outText, err) = TestUtil.RunCli("simulate", TestUtil.Fixture("onnx", "mlp_gelu.onnx"), "--device", "mesh:32x32", "--train",
            "--batch-size", "8", "--precision", "bf16", "--json", "-");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(outText);
        var r = doc.RootElement;
        Assert.Equal("bf16", r.GetProperty("precision").GetString());
        Assert.True(r.GetProperty("cycles").GetInt64() > 0);
        Assert.True(r.GetProperty("max_rel_diff_vs_cpu").GetDouble() < 1.0 / 64, outText);
        Assert.Empty(r.GetProperty("host_computed").EnumerateArray());
        var (bad, _, badErr) = TestUtil.RunCli("simulate", TestUtil.Fixture("onnx", "mlp_gelu.onnx"), "--device", "mesh:32x32", "--precision", "fp8");
        Assert.Equal(2, bad);
        Assert.Contains("--precision", badErr);
    }

    [Fact]
    public void UnsupportedOpsAndBadArgumentsAreOneLineUserErrors()
    {
        var (code, _, err) = TestUtil.RunCli("simulate", TestUtil.Fixture("onnx", "gpt_block.onnx"), "--device", "mesh:16x16", "--seq-len", "8", "--batch-size", "2");
        Assert.Equal(2, code);
        Assert.Contains("Gather", err);
        Assert.Single(err.Trim().Split('\n'));
        (code, _, err) = TestUtil.RunCli("simulate", "zoo:mlp", "--device", "wse3");
        Assert.Equal(2, code);
        Assert.Contains("mesh:WxH", err);
        (code, _, err) = TestUtil.RunCli("simulate", "zoo:mlp", "--kernel", "gemm");
        Assert.Equal(2, code);
        Assert.Contains("not both", err);
    }
}
