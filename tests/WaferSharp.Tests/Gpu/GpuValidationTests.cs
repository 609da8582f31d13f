using WaferSharp.Gpu;
using Xunit.Abstractions;

namespace WaferSharp.Tests.Gpu;

/// <summary>The planner against published runs (docs/FIDELITY.md): time within 10%, memory within 15%.</summary>
public class GpuValidationTests(ITestOutputHelper output)
{
    public static TheoryData<int> NarayananRows() => new(Enumerable.Range(0, PublishedRuns.Narayanan.Length));
    public static TheoryData<int> KorthikantiRows() => new(Enumerable.Range(0, PublishedRuns.Korthikanti.Length));

    [Theory]
    [MemberData(nameof(NarayananRows))]
    public void NarayananTable1_TflopsWithin10Percent(int i)
    {
        var r = PublishedRuns.Narayanan[i];
        var res = PublishedRuns.NarayananPlan(r);
        Assert.NotNull(res.Best);
        var e = res.Best!;
        double tflops = PublishedRuns.NarayananFlops(r.Batch, r.Layers, r.Hidden) / (e.StepTimeS * r.Tp * r.Pp * r.Dp) / 1e12;
        double err = (tflops - r.TflopsPerGpu) / r.TflopsPerGpu;
        output.WriteLine($"{r.BillionParams}B {e.Plan}: step {e.StepTimeS:F2} s, {tflops:F1} TFLOP/s vs {r.TflopsPerGpu} ({err:+0.0%;-0.0%}) mem {e.Memory.TotalBytes / (1L << 30):F1} GiB");
        Assert.InRange(err, -0.10, 0.10);
    }

    [Theory]
    [MemberData(nameof(KorthikantiRows))]
    public void KorthikantiTable5_IterationTimeWithin10Percent(int i)
    {
        var r = PublishedRuns.Korthikanti[i];
        foreach (bool sel in new[] { false, true })
        {
            var e = PublishedRuns.KorthikantiEstimate(r, sel);
            double pub = sel ? r.SelectiveSpS : r.FullRecomputeS;
            double err = (e.StepTimeS - pub) / pub;
            output.WriteLine($"{r.Name} {(sel ? "SP+selective" : "full")}: {e.StepTimeS:F2} s vs {pub} ({err:+0.0%;-0.0%}) {e.Breakdown}");
            Assert.InRange(err, -0.10, 0.10);
        }
    }
}
