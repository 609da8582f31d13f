using WaferSharp.Gpu;
using WaferSharp.Zoo;

namespace WaferSharp.Tests.Gpu;

/// <summary>Search behaviour, the graph path, and what happens when nothing fits.</summary>
public class GpuPlannerTests
{
    [Fact]
    public void Search_NeverSlowerThanThePublishedConfiguration()
    {
        foreach (var r in PublishedRuns.Narayanan)
        {
            var published = PublishedRuns.NarayananPlan(r).Best!;
            var job = new TrainingJob { Model = PublishedRuns.Model(r.Layers, r.Hidden, r.Heads), GlobalBatch = r.Batch, OverlapDpComm = false };
            var free = Planner.Search(PublishedRuns.Selene, job, r.Tp * r.Pp * r.Dp, topK: 3);
            Assert.NotNull(free.Best);
            Assert.True(free.Best!.StepTimeS <= published.StepTimeS * (1 + 1e-12),
                $"{r.BillionParams}B: search chose {free.Best.Plan} at {free.Best.StepTimeS:F2} s, published config {published.Plan} runs {published.StepTimeS:F2} s");
            Assert.True(free.Best.Fits);
            Assert.True(free.Top.Zip(free.Top.Skip(1)).All(p => p.First.StepTimeS <= p.Second.StepTimeS));
        }
    }

    [Fact]
    public void Search_RespectsFixedFlags()
    {
        var job = new TrainingJob { Model = TransformerProfile.FromConfig(ModelZoo.Get("gpt3-13b"), 2048), GlobalBatch = 256 };
        var res = Planner.Search(ClusterSpec.Of("h100"), job, 64, new PlanConstraints { Tp = 4, Recompute = Recompute.Full, Zero = 1 });
        Assert.All(res.Top, e => { Assert.Equal(4, e.Plan.Tp); Assert.Equal(Recompute.Full, e.Plan.Recompute); Assert.Equal(1, e.Plan.Zero); });
    }

    [Fact]
    public void Search_NoFit_SaysHowMuchIsMissingAndWhatWouldFit()
    {
        var job = new TrainingJob { Model = TransformerProfile.FromConfig(ModelZoo.Get("gpt3-175b"), 2048), GlobalBatch = 64 };
        var res = Planner.Search(ClusterSpec.Of("a100-80gb"), job, 8);
        Assert.Null(res.Best);
        Assert.NotNull(res.ClosestMiss);
        Assert.True(res.ClosestMiss!.Memory.MissingBytes > 0);
        Assert.Contains("GiB missing", res.Advice);
        Assert.Contains("use at least", res.Advice);
        // and the advice is right: that many GPUs do fit
        var more = Planner.Search(ClusterSpec.Of("a100-80gb"), job, 64);
        Assert.NotNull(more.Best);
    }

    [Fact]
    public void Search_175BOn1024Gpus_FindsAFastPlan()
    {
        var job = new TrainingJob { Model = TransformerProfile.FromConfig(ModelZoo.Get("gpt3-175b"), 2048), GlobalBatch = 1536 };
        var res = Planner.Search(ClusterSpec.Of("a100-80gb"), job, 1024, topK: 10);
        Assert.NotNull(res.Best);
        Assert.True(res.Evaluated > 1000);
        Assert.InRange(res.Best!.Mfu, 0.30, 0.75);
        Assert.Equal(10, res.Top.Count);
        var b = res.Best.Breakdown;
        Assert.Equal(res.Best.StepTimeS, b.Total, 9);
    }

    [Theory]
    [InlineData("gpt2-small")]
    [InlineData("llama3-8b")]
    public void GraphProfile_AgreesWithTheConfigFastPath(string name)
    {
        var cfg = ModelZoo.Get(name);
        const int s = 128, b = 2;
        var g = ZooTracing.TraceForward(ModelZoo.Create(cfg), cfg, b, s);
        var fromGraph = GraphProfiler.FromGraph(g, b, s, name, cfg.Heads, cfg.KvHeads);
        var fast = TransformerProfile.FromConfig(cfg, s);
        Assert.Equal(cfg.Layers, fromGraph.Layers);
        Assert.Equal(fast.Parameters, fromGraph.Parameters);
        Assert.Equal(fast.ParamsPerLayer, fromGraph.ParamsPerLayer);
        Assert.Equal(fast.LayerFlops, fromGraph.LayerFlops, fast.LayerFlops * 0.001);
        Assert.Equal(fast.ModelFlopsPerSample, fromGraph.ModelFlopsPerSample, fast.ModelFlopsPerSample * 0.001);
        Assert.Equal(fast.TpAllReduceBytes.Count, fromGraph.TpAllReduceBytes.Count);
        Assert.Equal(fast.LayerInputBytes, fromGraph.LayerInputBytes);
        double actFast = fast.ActReplicated + fast.ActSharded + fast.ActQuadratic;
        double actGraph = fromGraph.ActReplicated + fromGraph.ActSharded + fromGraph.ActQuadratic;
        Assert.InRange(actGraph / actFast, 0.85, 1.15);
        // the two profiles plan alike
        var c = ClusterSpec.Of("h100");
        var plan = new TrainingPlan(2, 2, 2, 2, 1, 1, Recompute.Selective, true);
        double t1 = TrainingCostModel.Evaluate(c, new TrainingJob { Model = fast, GlobalBatch = 32 }, plan).StepTimeS;
        double t2 = TrainingCostModel.Evaluate(c, new TrainingJob { Model = fromGraph, GlobalBatch = 32 }, plan).StepTimeS;
        Assert.InRange(t2 / t1, 0.85, 1.25);
    }

    [Fact]
    public void GraphProfile_PlansAModelWithoutBlocks()
    {
        var cfg = ModelZoo.Get("mlp");
        var g = ZooTracing.TraceForward(ModelZoo.Create(cfg), cfg, 16, 1);
        var p = GraphProfiler.FromGraph(g, 16, 1, "mlp");
        Assert.Equal(1, p.Layers);
        Assert.Equal(ModelZoo.ParameterCount(cfg), p.Parameters);
        var res = Planner.Search(ClusterSpec.Of("h100"), new TrainingJob { Model = p, GlobalBatch = 64 }, 8);
        Assert.NotNull(res.Best);
        Assert.Equal(1, res.Best!.Plan.Pp);
    }

    [Fact]
    public void Fp8_IsFasterOnH100_AndRejectedOnA100()
    {
        var model = TransformerProfile.FromConfig(ModelZoo.Get("gpt3-6.7b"), 2048);
        var plan = new TrainingPlan(1, 1, 8, 2, 1, 1, Recompute.Selective);
        var c = ClusterSpec.Of("h100");
        var bf16 = TrainingCostModel.Evaluate(c, new TrainingJob { Model = model, GlobalBatch = 64 }, plan);
        var fp8 = TrainingCostModel.Evaluate(c, new TrainingJob { Model = model, GlobalBatch = 64, Precision = Precision.Fp8 }, plan);
        Assert.True(fp8.StepTimeS < bf16.StepTimeS);
        Assert.Throws<NotSupportedException>(() => TrainingCostModel.Evaluate(ClusterSpec.Of("a100-80gb"), new TrainingJob { Model = model, GlobalBatch = 64, Precision = Precision.Fp8 }, plan));
    }
}
