using WaferSharp.Compiler;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Programs;
using WaferSharp.Graph.Execution;
using WaferSharp.Hardware;

namespace WaferSharp.Tests.Fabric;

/// <summary>Inter-region transfers as wavelet streams along the compiler's route lanes.</summary>
public class RouteTransferTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void ALaneWithTurnsAndARelayDeliversEveryElementInOrder()
    {
        // two lanes: (1,1) → (6,1) → (6,5) with a relay at hop 5 (the corner) changing color 3 → 4, and a straight one
        var route = new ProgramRoute
        {
            From = 0, To = 1, Value = "%0:f32[100]", Words = 100,
            Lanes =
            [
                new RouteLane { Path = [[1, 1], [6, 1], [6, 5]], Colors = [3, 4], RelayAt = [5], Hops = 9, Words = 50 },
                new RouteLane { Path = [[0, 7], [7, 7]], Colors = [5], Hops = 7, Words = 50 },
            ],
        };
        var data = FabricTestUtil.Random(100, 5);
        var sim = new FabricSimulator(WaferSpec.Parse("mesh:8x8"));
        var (got, cycles) = RouteTransferProgram.Run(sim, route, data)!.Value;
        Assert.Equal(data, got);
        // 50 wavelets on the busiest lane after 9 hops: at least words + hops
        Assert.InRange(cycles, 50 + 9, 50 + 9 + 40);
        Assert.True(sim.LinkWavelets(6, 1, PortIndex.South) == 50, "the relay resends south on its own link");
        output.WriteLine($"100 words over 2 lanes (9 and 7 hops, one relay): {cycles} cycles");
    }

    [Fact]
    public void LanesNeedingTwoRoutesForOneColorOnOnePeAreRefused()
    {
        var route = new ProgramRoute
        {
            From = 0, To = 1, Value = "%0:f32[8]", Words = 8,
            Lanes =
            [
                new RouteLane { Path = [[0, 0], [3, 0]], Colors = [2], Hops = 3, Words = 4 },
                new RouteLane { Path = [[1, 1], [1, 0], [1, 0]], Colors = [2], Hops = 1, Words = 4 },
            ],
        };
        Assert.Null(RouteTransferProgram.Run(new FabricSimulator(WaferSpec.Parse("mesh:4x4")), route, new float[8]));
    }

    [Fact]
    public void APipelinedMlpStepStreamsItsRoutesEqualsTheCpuReferenceAndIsDeterministic()
    {
        var (g, feeds) = ProgramRunnerTests.MlpStep(8, 16, 32);
        var spec = WaferSpec.Parse("mesh:32x32");
        var prog = WaferCompiler.Compile(g, 8, new CompileOptions { Wafer = spec, Precision = Precision.Fp32, Mode = ExecutionMode.Pipelined });
        Assert.NotEmpty(prog.Routes);
        var run = new WaferProgramRunner(g, prog, spec).Run(feeds);
        ProgramRunnerTests.AssertClose(new CpuExecutor(g).Run(feeds), run.Result, 1e-5);
        Assert.Empty(run.ChargedRoutes);
        Assert.Empty(run.HostComputed);
        // each route streams its words over parallel lanes: at least the words of its busiest lane plus its hops
        Assert.True(run.RouteCycles >= prog.Routes.Sum(r => (long)Math.Ceiling(r.Lanes.Max(l => l.Words)) + r.Lanes.Max(l => l.Hops)));
        // deterministic: a second run gives the same cycles and bits
        var again = new WaferProgramRunner(g, prog, spec).Run(feeds);
        Assert.Equal(run.Cycles, again.Cycles);
        Assert.Equal(run.RouteCycles, again.RouteCycles);
        foreach (var (v, t) in run.Result.Updates) Assert.True(t.BitEquals(again.Result.Updates[v]), v.Name);
        output.WriteLine($"pipelined mlp: {run.Cycles} simulated, {run.PredictedCycles:F0} predicted, routes {run.RouteCycles} simulated vs {prog.Routes.Sum(r => r.Cycles):F0} predicted");
    }
}
