using WaferSharp.Cli;
using WaferSharp.Compiler;
using WaferSharp.Compiler.Routing;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using WaferSharp.Training;
using WaferSharp.Zoo;

namespace WaferSharp.Tests.Compiler;

/// <summary>Layer-pipelined resident SRAM (weights, master copies, Adam state, stash), fitting GPT-2 XL, and link loads.</summary>
public class SramAccountingTests
{
    // Linear(64→128) → GELU → Linear(128→64), MSE loss, AdamW: 64·128 + 128 + 128·64 + 64 = 16,576 parameters.
    private const long MlpParams = 64 * 128 + 128 + 128 * 64 + 64;

    private static WaferSharp.Graph.Graph MlpStep(int batch)
    {
        var module = new ReferenceMlp(64, 128);
        var opt = new AdamW(module.Parameters(), lr: 1e-3);
        return TrainStep.Build(module, opt, (m, x, y) => m.Forward(x, y), TensorType.F32(batch, 64), TensorType.F32(batch, 64)).Graph;
    }

    [Theory]
    [InlineData(Precision.Bf16, 2, 4)]
    [InlineData(Precision.Fp32, 4, 0)]
    public void SmallMlpResidentBytesMatchTheHandDerivedPlan(Precision precision, int weightBytes, int masterBytes)
    {
        const int batch = 4;
        var prog = WaferCompiler.Compile(MlpStep(batch), batch, new CompileOptions { Wafer = WaferSpec.Mesh(48, 48), Mode = ExecutionMode.Pipelined, Precision = precision });
        var r = prog.Resident!;
        Assert.Equal(1, prog.Schedule.Microbatches);
        // per parameter: the compute copy, the fp32 master (not in fp32, where the weight is the master), Adam m and v
        Assert.Equal(MlpParams * weightBytes, r.Weights);
        Assert.Equal(MlpParams * masterBytes, r.Master);
        Assert.Equal(MlpParams * 8, r.OptimizerState);
        // one micro-batch: the weight gradients are consumed chunk by chunk by the fused update, none is stored whole
        Assert.Equal(0, r.GradientAccumulators);
        // stashed for the backward, once each: the first Linear's output (GELU's gradient reads it), GELU's output
        // (the second weight gradient reads it) and the prediction (the MSE gradient reads it): 4·(128 + 128 + 64) values
        Assert.Equal(batch * (128 + 128 + 64) * (long)weightBytes, r.Stash);
        Assert.Equal(0, r.KvCache);
        // the regions' breakdowns add up to the total, and each region's per-PE plan holds its share
        Assert.Equal(r.Weights + r.Master + r.OptimizerState + r.Stash, prog.Regions.Sum(g => g.Resident!.Total));
        foreach (var g in prog.Regions)
        {
            Assert.Equal((g.Resident!.Total + g.Rect.Pes - 1) / g.Rect.Pes, g.ResidentBytesPerPe);
            Assert.True(g.SramBytesPerPe <= 48 * 1024);
        }
    }

    [Fact]
    public void SeveralMicrobatchesAddGradientAccumulatorsAndStashWhatIsInFlight()
    {
        var p = new CostParams(WaferSpec.Mesh(48, 48), Precision.Bf16);
        var lg = Lowering.Lower(MlpStep(4), p);
        var (groupOf, groups) = Grouping.Build(lg);
        int s = groups.Count;
        var one = ResidentSram.Plan(lg, groupOf, s, 1, p, inference: false);
        var three = ResidentSram.Plan(lg, groupOf, s, 3, p, inference: false);
        Assert.Equal(MlpParams * 4, three.Sum(g => g.GradientAccumulators)); // fp32, summed over the micro-batches
        for (int gi = 0; gi < s; gi++)
        {
            // 1F1B: stage s of S holds min(m, S − s) micro-batches
            Assert.Equal(Math.Min(3, s - gi), three[gi].StashMicrobatches);
            Assert.Equal(one[gi].Stash * three[gi].StashMicrobatches, three[gi].Stash);
        }
        Assert.Equal(3, ResidentSram.InFlight(0, 5, 3));
        Assert.Equal(2, ResidentSram.InFlight(3, 5, 3));
        Assert.Equal(1, ResidentSram.InFlight(4, 5, 3));
    }

    [Fact]
    public void Gpt2XlTrainingFitsOneWse3LayerPipelined()
    {
        var (src, seq, _) = CompileCommand.BuildSource("zoo:gpt2-xl", 1, null, inference: false);
        var prog = WaferCompiler.Compile(src, new CompileOptions { Wafer = WaferSpec.Wse3, Mode = ExecutionMode.Pipelined, SeqLen = seq }, inference: false);
        Assert.Equal("layer-pipelined", prog.Mode);
        var r = prog.Resident!;
        long n = ModelZoo.ParameterCount(ModelZoo.Get("gpt2-xl"));
        // 14 B per parameter: bf16 weights, fp32 master, Adam m and v; no whole gradient at one micro-batch
        Assert.Equal(2 * n, r.Weights);
        Assert.Equal(4 * n, r.Master);
        Assert.Equal(8 * n, r.OptimizerState);
        Assert.Equal(0, r.GradientAccumulators);
        // plus one sequence's stashed activations (~5.1 GB at seq 1024): ~27 GB of the wafer's ~38 GB for tensors
        Assert.InRange(r.Stash, 4.5e9, 6e9);
        Assert.InRange(r.Total, 26e9, 28e9);
        Assert.True(prog.SramBytesMaxPerPe <= WaferSpec.Wse3.PeSramBytes, $"{prog.SramBytesMaxPerPe} B on the fullest PE");
        Assert.True(prog.PesUsed <= prog.Fabric.UsablePes);
        CompilerTests.CheckInvariants(prog, WaferSpec.Wse3, null);
        Assert.True(prog.StepCycles > 0 && prog.Utilization > 0.01);
    }

    [Fact]
    public void Gpt3SixBillionTrainingIsTooBigForPipelinedAndSaysByHowMuch()
    {
        var (src, seq, _) = CompileCommand.BuildSource("zoo:gpt3-6.7b", 1, null, inference: false);
        var e = Assert.Throws<ModelTooLargeException>(() =>
            WaferCompiler.Compile(src, new CompileOptions { Wafer = WaferSpec.Wse3, Mode = ExecutionMode.Pipelined, SeqLen = seq }, inference: false));
        Assert.Contains("too big for layer-pipelined mode", e.Message);
        Assert.Contains("--mode weight-streaming", e.Message);
        Assert.Contains("fp32 master weights", e.Message);
        Assert.Contains("optimizer state", e.Message);
        Assert.Matches(@"= \d+(\.\d+)? GB of resident SRAM", e.Message);
        Assert.Contains("37.99 GB for tensors", e.Message);
    }

    [Fact]
    public void DroppedLanesStillCarryEveryWavelet()
    {
        // one color per router: a lane across row 0 blocks any other lane that must reach row 0 through (5, 0)
        var router = new Router(10, 4, 1, null);
        var lanes = new List<WaferSharp.Compiler.RouteLane>();
        var first = router.TryRoute(0, 0, 9, 0, 0);
        Assert.NotNull(first);
        lanes.Add(first!);
        Assert.Null(router.TryRoute(5, 3, 5, 0, 0)); // congested: the route keeps one lane
        Assert.Equal(1001, router.Carry(lanes, 1001));
        Assert.Equal(1001, lanes.Sum(l => l.Words));
        Assert.Equal(1001.0 * 9, router.TotalLinkLoad());
        Assert.Equal(1001, router.MaxLinkLoad());

        // shares split exactly: 1001 over 4 straight lanes is 251 + 250 + 250 + 250
        var r2 = new Router(10, 4, 2, null);
        var four = Enumerable.Range(0, 4).Select(y => r2.Route(0, y, 9, y, 0)).ToList();
        Assert.Equal(251, r2.Carry(four, 1001)); // disjoint lanes: the busiest link carries one share
        Assert.Equal(new double[] { 251, 250, 250, 250 }, four.Select(l => l.Words));
        Assert.Equal(1001.0 * 9, r2.TotalLinkLoad());
    }

    [Fact]
    public void RoutedWaveletsMatchTheLinkLoadsAndEachRouteIsTimedByItsBusiestLink()
    {
        // a tight color budget makes some routes drop lanes; whatever they keep must carry all of their words
        var spec = WaferSpec.Mesh(96, 96) with { RouterColors = 12 };
        var (src, seq, _) = CompileCommand.BuildSource(TestUtil.Fixture("onnx", "gpt_block.onnx"), 2, 16, inference: false);
        var prog = WaferCompiler.Compile(src, new CompileOptions { Wafer = spec, Mode = ExecutionMode.Pipelined, SeqLen = seq }, inference: false);
        var roomy = WaferCompiler.Compile(src, new CompileOptions { Wafer = spec with { RouterColors = 24 }, Mode = ExecutionMode.Pipelined, SeqLen = seq }, inference: false);
        Assert.True(prog.Routes.Sum(r => r.Lanes.Count) < roomy.Routes.Sum(r => r.Lanes.Count), "the tight budget drops lanes");
        CompilerTests.CheckInvariants(prog, spec, null);
        var load = new Dictionary<(int, int, int), double>();
        foreach (var route in prog.Routes)
        {
            Assert.Equal(Math.Ceiling(route.Words), route.Lanes.Sum(l => l.Words));
            var mine = new Dictionary<(int, int, int), double>();
            foreach (var lane in route.Lanes)
                foreach (var link in Links(lane))
                {
                    load[link] = load.GetValueOrDefault(link) + lane.Words;
                    mine[link] = mine.GetValueOrDefault(link) + lane.Words;
                }
            // lanes rerouted around congestion may share a link: the route takes as long as its busiest link
            Assert.True(route.Cycles >= mine.Values.Max(), $"route {route.From}->{route.To}: {route.Cycles} cycles for {mine.Values.Max()} wavelets on one link");
        }
        Assert.Equal(load.Values.Max(), prog.LinkLoadMax, 0.5);
    }

    private static IEnumerable<(int X, int Y, int D)> Links(WaferSharp.Compiler.RouteLane lane)
    {
        for (int c = 0; c + 1 < lane.Path.Count; c++)
        {
            int x = lane.Path[c][0], y = lane.Path[c][1], tx = lane.Path[c + 1][0], ty = lane.Path[c + 1][1];
            while (x != tx || y != ty)
            {
                int nx = x + Math.Sign(tx - x), ny = nx == x ? y + Math.Sign(ty - y) : y;
                yield return (x, y, nx > x ? 0 : nx < x ? 1 : ny > y ? 2 : 3);
                x = nx; y = ny;
            }
        }
    }
}
