using WaferSharp.Gpu;
using Xunit.Abstractions;

namespace WaferSharp.Tests.Gpu;

/// <summary>Korthikanti et al. 2022 Fig. 1 memory per GPU (GiB): model states and activations, within 15%.</summary>
public class GpuMemoryValidationTests(ITestOutputHelper output)
{
    private const double GiB = 1L << 30;

    public static TheoryData<int> Rows() => new(Enumerable.Range(0, PublishedRuns.Korthikanti.Length));

    [Theory]
    [MemberData(nameof(Rows))]
    public void KorthikantiFig1_MemoryWithin15Percent(int i)
    {
        var r = PublishedRuns.Korthikanti[i];
        var job = new TrainingJob { Model = PublishedRuns.Model(r.Layers, r.Hidden, r.Heads), GlobalBatch = r.Batch };
        int m = r.Batch / r.Microbatch;
        var none = TrainingCostModel.Memory(PublishedRuns.Selene, job, new TrainingPlan(r.Tp, r.Pp, 1, r.Microbatch, r.Interleave, 0, Recompute.None), m);
        var sel = TrainingCostModel.Memory(PublishedRuns.Selene, job, new TrainingPlan(r.Tp, r.Pp, 1, r.Microbatch, r.Interleave, 0, Recompute.Selective, true), m);
        void Check(string what, double predicted, double published)
        {
            double err = (predicted / GiB - published) / published;
            output.WriteLine($"{r.Name} {what}: {predicted / GiB:F2} GiB vs {published} ({err:+0.0%;-0.0%})");
            Assert.InRange(err, -0.15, 0.15);
        }
        Check("model states", none.ModelStateBytes, r.ModelStateGiB);
        Check("activations, no recompute", none.ActivationBytes, r.ActNoRecomputeGiB);
        Check("activations, SP + selective", sel.ActivationBytes, r.ActSelectiveSpGiB);
    }
}
