using WaferSharp.Gpu;
using WaferSharp.Zoo;

namespace WaferSharp.Tests.Gpu;

/// <summary>The cost model's formulas against hand-computed cases.</summary>
public class GpuFormulaTests
{
    private const double GB = 1e9;

    [Fact]
    public void RingAllReduce_MatchesTwoTimesNMinusOneOverN()
    {
        // 1 GB over 8 ranks at 100 GB/s, 10 µs per step: 2·7/8·0.01 s + 14·10 µs
        Assert.Equal(2 * 7 / 8.0 * 0.01 + 14 * 10e-6, Collectives.AllReduce(1 * GB, 8, 100 * GB, 10e-6), 12);
        Assert.Equal(7 / 8.0 * 0.01 + 7 * 10e-6, Collectives.ReduceScatter(1 * GB, 8, 100 * GB, 10e-6), 12);
        Assert.Equal(0, Collectives.AllReduce(1 * GB, 1, 100 * GB, 10e-6));
        // SP's reduce-scatter + all-gather moves what one all-reduce moves
        Assert.Equal(Collectives.AllReduce(GB, 8, 100 * GB, 0), 2 * Collectives.ReduceScatter(GB, 8, 100 * GB, 0), 12);
    }

    [Fact]
    public void Links_NvlinkInsideANode_NicsAcross()
    {
        var c = ClusterSpec.Of("a100-80gb");
        Assert.Equal(300 * GB * c.NvlinkEfficiency, Collectives.Link(c, 8, 1).Bandwidth, 3);
        // DP over 24 nodes with TP 8 inside each: one NIC per rank
        Assert.Equal(25 * GB * c.NicEfficiency, Collectives.Link(c, 24, 8).Bandwidth, 3);
        // DP over 32 GPUs, 8 of them per node: eight NICs per node carry the rings
        Assert.Equal(8 * 25 * GB * c.NicEfficiency, Collectives.Link(c, 32, 1).Bandwidth, 3);
    }

    [Fact]
    public void ZeroMemory_MatchesTheZeroPaperExample()
    {
        // ZeRO paper Table 1: Ψ = 7.5B, N_d = 64, 16-bit gradients, K = 12: 120, 31.4, 16.6, 1.9 GB
        var model = new ModelProfile
        {
            Name = "psi", Layers = 1, Hidden = 1, Heads = 0, SeqLen = 1, LayerOps = [], PreOps = [], PostOps = [], TpAllReduceBytes = [],
            ActReplicated = 0, ActSharded = 0, ActQuadratic = 0, LayerInputBytes = 0, ParamsPerLayer = 7_500_000_000, PreParams = 0, PostParams = 0,
        };
        var job = new TrainingJob { Model = model, GlobalBatch = 64, GradientBytes = 2 };
        var c = ClusterSpec.Of("a100-80gb");
        double[] expected = [120, 31.4, 16.6, 1.9];
        for (int z = 0; z <= 3; z++)
        {
            var mem = TrainingCostModel.Memory(c, job, new TrainingPlan(1, 1, 64, 1, 1, z, Recompute.Full), 1);
            Assert.Equal(expected[z], mem.ModelStateBytes / GB, 1);
        }
    }

    [Fact]
    public void PipelineBubble_IsPMinusOneOverVTimesStageTime()
    {
        var c = ClusterSpec.Of("a100-80gb");
        var job = new TrainingJob { Model = TransformerProfile.Gpt(32, 4096, 32, 51200, 2048), GlobalBatch = 64 };
        var plain = TrainingCostModel.Evaluate(c, job, new TrainingPlan(1, 4, 1, 1, 1, 0, Recompute.Full));
        var inter = TrainingCostModel.Evaluate(c, job, new TrainingPlan(1, 4, 1, 1, 2, 0, Recompute.Full));
        // the mean stage time per micro-batch is the non-bubble pipeline time over m (stages are even apart from the ends)
        double stage = (plain.Breakdown.ComputeS + plain.Breakdown.RecomputeS) / plain.Microbatches;
        Assert.Equal((4 - 1) * stage, plain.Breakdown.PpBubbleS, stage * 0.1 * 3);
        Assert.Equal(plain.Breakdown.PpBubbleS / 2, inter.Breakdown.PpBubbleS, 1e-9);
        // bubble fraction of the pipelined compute = (p − 1)/m
        Assert.Equal(3.0 / 64, plain.Breakdown.PpBubbleS / (plain.Breakdown.ComputeS + plain.Breakdown.RecomputeS), 0.006);
    }

    [Theory]
    [InlineData(24, 2304, 24, 1.7)]
    [InlineData(80, 12288, 96, 145.6)]
    [InlineData(128, 25600, 160, 1008)]
    public void ParameterCount_MatchesNarayananEq2(int layers, int hidden, int heads, double billions)
    {
        var p = TransformerProfile.Gpt(layers, hidden, heads, 51200, 2048);
        double l = layers, h = hidden;
        // Eq. 2 plus the final LayerNorm (2h), which the paper's formula leaves out
        double eq2 = 12 * l * h * h * (1 + 13 / (12 * h) + (51200 + 2048) / (12 * l * h)) + 2 * h;
        Assert.Equal(eq2, p.Parameters, eq2 * 1e-9);
        Assert.Equal(billions, p.Parameters / 1e9, billions * 0.03); // the paper rounds (1.65 → "1.7")
    }

    [Fact]
    public void ParameterCount_ZooFastPathEqualsZoo()
    {
        foreach (var name in new[] { "gpt2-small", "gpt3-175b", "llama2-70b", "llama3-8b" })
        {
            var cfg = ModelZoo.Get(name);
            Assert.Equal(ModelZoo.ParameterCount(cfg), TransformerProfile.FromConfig(cfg, 128).Parameters);
        }
    }

    [Fact]
    public void ModelFlops_MatchKorthikantiFormula()
    {
        int l = 96, h = 12288, s = 2048, v = 51200;
        var p = TransformerProfile.Gpt(l, h, 96, v, s);
        double formula = 72.0 * s * l * (double)h * h * (1 + s / (6.0 * h) + v / (12.0 * l * h));
        Assert.Equal(formula, p.ModelFlopsPerSample, formula * 1e-9);
    }

    [Fact]
    public void ActivationBytes_MatchKorthikantiTable2()
    {
        int h = 6144, a = 64, s = 2048;
        var p = TransformerProfile.Gpt(48, h, a, 51200, s);
        double sbh = (double)s * h;
        Assert.Equal(34 * sbh + 5.0 * a * s * s, p.ActReplicated + p.ActSharded + p.ActQuadratic, 1);
        Assert.Equal(10 * sbh, p.ActReplicated, 1);
        Assert.Equal(2 * sbh, p.LayerInputBytes, 1);
    }

    [Fact]
    public void GemmTime_SmallGemmsRunFarBelowPeak()
    {
        var c = ClusterSpec.Of("h100");
        double peak = c.Gpu.Bf16Flops;
        double big = 2.0 * 8192 * 8192 * 8192 / TrainingCostModel.GemmTime(c, peak, 8192, 8192, 8192, 1) / peak;
        double small = 2.0 * 64 * 1024 * 1024 / TrainingCostModel.GemmTime(c, peak, 64, 1024, 1024, 1) / peak;
        Assert.InRange(big, 0.70, c.GemmEfficiency);
        Assert.True(small < 0.1, $"a 64×1024×1024 GEMM ran at {small:P0} of peak");
    }

    [Fact]
    public void Decode_IsBoundByHbmBandwidth()
    {
        var c = ClusterSpec.Of("h100");
        var cfg = ModelZoo.Get("llama2-7b");
        var e = InferenceModel.Estimate(c, TransformerProfile.FromConfig(cfg, 512), new InferenceJob(1, 1, 1, 512, 128));
        Assert.True(e.DecodeMemoryBound);
        double weightsRead = ModelZoo.ParameterCount(cfg) * 2.0 / (c.Gpu.HbmBandwidth * c.HbmEfficiency);
        // plus TP-free kernel overheads (~10 kernels per layer)
        Assert.InRange(e.TimePerOutputTokenS, weightsRead, weightsRead * 1.4);
        // KV cache: 2 (K, V) × 32 layers × 4096 × 2 bytes per token
        Assert.Equal(640 * 2.0 * 32 * 4096 * 2, e.KvCacheBytesPerGpu, 1);
        // TP 2 halves the weight reads but adds 64 latency-bound all-reduces per token
        var tp2 = InferenceModel.Estimate(c, TransformerProfile.FromConfig(cfg, 512), new InferenceJob(2, 2, 1, 512, 128));
        Assert.True(tp2.TimePerOutputTokenS < e.TimePerOutputTokenS * 0.9, $"TP2 {tp2.TimePerOutputTokenS} vs TP1 {e.TimePerOutputTokenS}");
    }
}
