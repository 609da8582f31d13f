using System.Text.Json;

namespace WaferSharp.Tests.Fabric;

/// <summary><c>wafer simulate</c>: JSON fields, outputs, and one-line user errors.</summary>
public class SimulateCliTests
{
    [Theory]
    [InlineData("gemm", "mesh:4x4")]
    [InlineData("gemv", "mesh:4x4")]
    [InlineData("allreduce", "mesh:5x3")]
    [InlineData("softmax", "mesh:4x4")]
    [InlineData("layernorm", "mesh:4x4")]
    public void ReportsCyclesPredictionAndCpuCheck(string kernel, string device)
    {
        var (code, outText, err) = TestUtil.RunCli("simulate", "--kernel", kernel, "--m", "16", "--n", "24", "--k", "20", "--device", device, "--json", "-");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(outText);
        var r = doc.RootElement;
        long cycles = r.GetProperty("cycles").GetInt64();
        double predicted = r.GetProperty("predicted_cycles").GetDouble();
        Assert.True(cycles > 0);
        Assert.Equal((predicted - cycles) / cycles, r.GetProperty("relative_error").GetDouble(), 9);
        Assert.True(Math.Abs(r.GetProperty("relative_error").GetDouble()) < 0.15, $"{kernel}: {cycles} vs {predicted}");
        Assert.True(r.GetProperty("max_rel_diff_vs_cpu").GetDouble() < 1e-5);
        Assert.True(r.GetProperty("max_abs_diff_vs_cpu").GetDouble() >= 0);
        Assert.True(r.GetProperty("pe_cycles_per_second").GetDouble() > 0);
    }

    [Fact]
    public void WritesTraceAndHeatmapAtomically()
    {
        var dir = Directory.CreateTempSubdirectory("simcli");
        try
        {
            string t = Path.Combine(dir.FullName, "t.json"), h = Path.Combine(dir.FullName, "h.svg"), j = Path.Combine(dir.FullName, "o.json");
            var (code, _, err) = TestUtil.RunCli("simulate", "--kernel", "gemm", "--m", "32", "--n", "32", "--k", "32", "--device", "mesh:4x4", "--precision", "bf16", "--trace", t, "--link-heatmap", h, "--json", j);
            Assert.True(code == 0, err);
            using (JsonDocument.Parse(File.ReadAllText(t))) { }
            Assert.StartsWith("<svg", File.ReadAllText(h));
            using var doc = JsonDocument.Parse(File.ReadAllText(j));
            Assert.Equal("bf16", doc.RootElement.GetProperty("precision").GetString());
            Assert.Empty(Directory.GetFiles(dir.FullName, "*.tmp"));
        }
        finally { dir.Delete(true); }
    }

    [Theory]
    [InlineData("--kernel", "conv")]
    [InlineData("--kernel", "gemm", "--m", "4096", "--n", "4096", "--k", "4096", "--device", "mesh:2x2")]
    [InlineData("--kernel", "softmax", "--precision", "bf16")]
    [InlineData("--kernel", "gemm", "--device", "mesh:0x4")]
    public void BadInputIsAOneLineUserError(params string[] args)
    {
        var (code, _, err) = TestUtil.RunCli(["simulate", .. args]);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err.Trim());
        Assert.DoesNotContain("   at ", err);
    }
}
