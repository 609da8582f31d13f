using System.Text.Json;
using Xunit.Abstractions;
using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Hardware;
using static WaferSharp.Tests.Fabric.FabricTestUtil;

namespace WaferSharp.Tests.Fabric;

/// <summary>
/// The fused FlashAttention-style program (<see cref="AttentionProgram"/>): outputs against a CPU softmax(Q·Kᵀ·scale
/// [+ mask])·V in double precision, determinism, and the compiler's prediction (<see cref="AttentionKernel.PlanFused"/>)
/// within 10% of the simulated cycles on fabrics from 2×2 to 64×64.
/// </summary>
public class AttentionTests(ITestOutputHelper output)
{
    // a hung program fails fast instead of running to the default cap
    private static FabricSimulator Sim(int w, int h) => new(WaferSpec.Mesh(w, h), null, new FabricOptions { MaxCycles = 5_000_000 });

    internal static float[] Reference(float[] q, float[] k, float[] v, int heads, int tq, int tk, int d, bool causal)
    {
        var o = new float[heads * tq * d];
        double scale = 1 / Math.Sqrt(d);
        var s = new double[tk];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < tq; i++)
            {
                double mx = double.NegativeInfinity;
                int last = causal ? Math.Min(tk - 1, i + tk - tq) : tk - 1;
                for (int j = 0; j <= last; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double)q[(h * tq + i) * d + c] * k[(h * tk + j) * d + c];
                    s[j] = dot * scale;
                    mx = Math.Max(mx, s[j]);
                }
                double sum = 0;
                for (int j = 0; j <= last; j++) { s[j] = Math.Exp(s[j] - mx); sum += s[j]; }
                for (int c = 0; c < d; c++)
                {
                    double acc = 0;
                    for (int j = 0; j <= last; j++) acc += s[j] * v[(h * tk + j) * d + c];
                    o[(h * tq + i) * d + c] = (float)(acc / sum);
                }
            }
        return o;
    }

    private static KernelRun RunCase(int w, int h, int heads, int tq, int tk, int d, bool causal, out float[] want, int seed = 1)
    {
        var q = Random(heads * tq * d, seed, -2, 2); var k = Random(heads * tk * d, seed + 1, -2, 2); var v = Random(heads * tk * d, seed + 2);
        want = Reference(q, k, v, heads, tq, tk, d, causal);
        return AttentionProgram.Run(Sim(w, h), new Region(0, 0, w, h), q, k, v, heads, tq, tk, d, causal);
    }

    [Theory]
    [InlineData(1, 1, 1, 8, 8, 4, false)]
    [InlineData(2, 2, 1, 16, 16, 8, false)]
    [InlineData(2, 2, 1, 16, 16, 8, true)]
    [InlineData(4, 4, 2, 24, 24, 8, true)]   // T not a multiple of the blocks: padded keys and rows
    [InlineData(4, 4, 3, 32, 32, 16, false)] // heads on sub-grids
    [InlineData(3, 5, 5, 20, 20, 4, true)]   // odd sides, heads in rounds
    [InlineData(4, 4, 1, 8, 32, 8, true)]    // Tq < Tk: the causal offset of a KV cache
    [InlineData(8, 8, 1, 64, 64, 16, true)]
    public void MatchesTheCpuReference(int w, int h, int heads, int tq, int tk, int d, bool causal)
    {
        var r = RunCase(w, h, heads, tq, tk, d, causal, out var want);
        double err = RelErr(r.Output, want);
        output.WriteLine($"attention {heads}x{tq}x{tk}x{d} causal={causal} on {w}x{h}: {r.Cycles} cycles, rel err {err:E2}");
        Assert.True(err <= 1e-5, $"relative error {err:E2}");
    }

    [Fact]
    public void TwoRunsGiveTheSameCyclesAndBits()
    {
        var a = RunCase(4, 4, 2, 32, 32, 8, true, out _);
        var b = RunCase(4, 4, 2, 32, 32, 8, true, out _);
        Assert.Equal(a.Cycles, b.Cycles);
        Assert.Equal(a.Output.Select(BitConverter.SingleToInt32Bits), b.Output.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(a.Stats, b.Stats);
    }

    [Fact]
    public void CausalSkipsMaskedBlocks()
    {
        // the zig-zag rows balance the unmasked blocks: causal does fewer FLOPs and finishes sooner
        var full = RunCase(8, 8, 1, 128, 128, 8, false, out _);
        var causal = RunCase(8, 8, 1, 128, 128, 8, true, out _);
        output.WriteLine($"non-causal {full.Cycles}, causal {causal.Cycles}");
        Assert.True(causal.Cycles < 0.9 * full.Cycles, $"causal {causal.Cycles} vs {full.Cycles}");
    }

    [Theory]
    [InlineData(2, 1, 16, 8, false)] [InlineData(2, 2, 32, 16, true)]
    [InlineData(4, 1, 64, 16, false)] [InlineData(4, 4, 64, 8, true)]
    [InlineData(8, 1, 128, 16, true)] [InlineData(8, 2, 64, 32, false)]
    [InlineData(16, 1, 128, 8, false)] [InlineData(16, 4, 128, 16, true)]
    [InlineData(32, 1, 256, 8, true)] [InlineData(32, 2, 128, 8, false)]
    [InlineData(64, 1, 128, 4, false)]
    public void CompilerPredictsTheCycles(int s, int heads, int t, int d, bool causal)
    {
        var r = RunCase(s, s, heads, t, t, d, causal, out var want);
        Assert.True(RelErr(r.Output, want) <= 1e-5);
        var plan = AttentionKernel.PlanFused(heads, t, t, d, causal, s, s, MeshParams(s));
        AssertCalibrated(output, r.Cycles, plan.Cycles, $"attention {s}x{s} heads {heads} T {t} d {d}{(causal ? " causal" : "")} on {plan.SubGrids}x[{plan.SubW}x{plan.SubH}]");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CliReportsCyclesPredictionAndCpuCheck(bool causal)
    {
        string[] args = ["simulate", "--kernel", "attention", "--m", "32", "--n", "8", "--k", "2", "--device", "mesh:4x4", "--json", "-"];
        var (code, outText, err) = TestUtil.RunCli(causal ? [.. args, "--causal"] : args);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(outText);
        var r = doc.RootElement;
        long cycles = r.GetProperty("cycles").GetInt64();
        double predicted = r.GetProperty("predicted_cycles").GetDouble();
        Assert.Equal("attention", r.GetProperty("kernel").GetString());
        Assert.Contains(causal ? "causal" : "heads", r.GetProperty("shape").GetString());
        Assert.Equal((predicted - cycles) / cycles, r.GetProperty("relative_error").GetDouble(), 9);
        Assert.True(Math.Abs(r.GetProperty("relative_error").GetDouble()) <= 0.10, $"{cycles} vs {predicted}");
        Assert.True(r.GetProperty("max_rel_diff_vs_cpu").GetDouble() < 1e-5);
        Assert.True(r.GetProperty("max_abs_diff_vs_cpu").GetDouble() >= 0);
        Assert.True(r.GetProperty("pe_cycles_per_second").GetDouble() > 0);
    }

    [Theory]
    [InlineData("--kernel", "gemm", "--causal")]
    [InlineData("--kernel", "attention", "--m", "4096", "--n", "256", "--k", "4", "--device", "mesh:2x2")]
    public void CliBadInputIsAOneLineUserError(params string[] args)
    {
        var (code, _, err) = TestUtil.RunCli(["simulate", .. args]);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err.Trim());
        Assert.DoesNotContain("   at ", err);
    }
}
