using System.Text.Json;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Hardware;
using static WaferSharp.Tests.Fabric.FabricTestUtil;

namespace WaferSharp.Tests.Fabric;

/// <summary>Router, task and timing semantics of the simulator.</summary>
public class SimulatorTests
{
    // PE (0,0) sends `count` wavelets east along row 0 to PE (dist, 0), whose data task records each arrival
    private sealed class RowMessage(int dist, int count) : PeProgram
    {
        public readonly List<(long Cycle, uint Bits)> Arrivals = new();

        public override void Setup(Pe pe)
        {
            var f = pe.Fabric;
            if (pe.Lx == 0)
            {
                f.SetRoute(pe.X, pe.Y, 3, Ports.Ramp, Ports.East);
                BindLocalTask(0, p => p.Start(VecOp.Mov, Dsd.FabOut(3, count), Dsd.Mem(0, count), Completion.None));
                for (int i = 0; i < count; i++) pe.F32(0, count)[i] = i + 0.5f;
                pe.Activate(0);
            }
            else if (pe.Lx < dist) f.SetRoute(pe.X, pe.Y, 3, Ports.West, Ports.East);
            else
            {
                f.SetRoute(pe.X, pe.Y, 3, Ports.West, Ports.Ramp);
                BindDataTask(3, (p, w) => { Arrivals.Add((p.Now, w)); p.Spend(5); });
            }
        }
    }

    // PE (1, 1) sends two wavelets north to PE (1, 0), whose route first accepts only West; a task on (1, 0) switches
    // it to South at cycle ~50 when `switchRoute`, after the two wavelets are already queued
    private sealed class LateSwitch(bool switchRoute) : PeProgram
    {
        public readonly List<uint> Arrivals = new();

        public override void Setup(Pe pe)
        {
            var f = pe.Fabric;
            if (pe.Lx == 1 && pe.Ly == 1)
            {
                f.SetRoute(pe.X, pe.Y, 3, Ports.Ramp, Ports.North);
                pe.F32(0, 2)[0] = 1.5f; pe.F32(0, 2)[1] = 2.5f;
                BindLocalTask(0, p => p.Start(VecOp.Mov, Dsd.FabOut(3, 2), Dsd.Mem(0, 2), Completion.None));
                pe.Activate(0);
            }
            else if (pe.Lx == 1 && pe.Ly == 0)
            {
                f.SetRoute(pe.X, pe.Y, 3, Ports.West, Ports.Ramp);
                BindDataTask(3, (p, w) => Arrivals.Add(w));
                BindLocalTask(1, p => { p.Spend(50); p.Activate(2); });
                BindLocalTask(2, p => { if (switchRoute) p.SetRoute(3, Ports.South, Ports.Ramp); });
                pe.Activate(1);
            }
        }
    }

    [Fact]
    public void ARouteSwitchWaitsOnlyForTheWaveletsOfTheOldRoute()
    {
        // the queued wavelets came from South, which the old route never accepted: the switch applies at once
        var sim = new FabricSimulator(WaferSpec.Mesh(2, 2));
        var prog = new LateSwitch(true);
        sim.Load(prog, new Region(0, 0, 2, 2));
        sim.Run();
        Assert.Equal([BitConverter.SingleToUInt32Bits(1.5f), BitConverter.SingleToUInt32Bits(2.5f)], prog.Arrivals);
        Assert.True(sim.Stats().RouteWaits > 0);
    }

    [Fact]
    public void WaveletsNoRouteWillTakeAreADeadlockNotAHang()
    {
        var sim = new FabricSimulator(WaferSpec.Mesh(2, 2));
        sim.Load(new LateSwitch(false), new Region(0, 0, 2, 2));
        var e = Assert.Throws<InvalidOperationException>(() => sim.Run());
        Assert.Contains("deadlock", e.Message);
        Assert.Contains("PE (1, 0)", e.Message);
        Assert.Contains("accepts only West", e.Message);
        Assert.True(sim.Now < 1000, $"detected at cycle {sim.Now}");
    }

    [Fact]
    public void OneWaveletCostsOneCyclePerHop()
    {
        long At(int d)
        {
            var sim = new FabricSimulator(WaferSpec.Mesh(40, 1));
            var prog = new RowMessage(d, 1);
            sim.Load(prog, new Region(0, 0, d + 1, 1));
            sim.Run();
            return Assert.Single(prog.Arrivals).Cycle;
        }
        long a1 = At(1);
        Assert.Equal(a1 + 9, At(10));
        Assert.Equal(a1 + 38, At(39));
    }

    [Fact]
    public void BackPressureHoldsAStreamAtTheSlowReceiversPace()
    {
        var sim = new FabricSimulator(WaferSpec.Mesh(6, 1));
        var prog = new RowMessage(5, 64);
        sim.Load(prog, new Region(0, 0, 6, 1));
        sim.Run();
        Assert.Equal(64, prog.Arrivals.Count);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => BitConverter.SingleToUInt32Bits(i + 0.5f)), prog.Arrivals.Select(a => a.Bits)); // in order
        // the receiver's data task takes 3 + 5 cycles per wavelet, so arrivals are paced by it, not by the link
        for (int i = 1; i < 64; i++) Assert.Equal(8, prog.Arrivals[i].Cycle - prog.Arrivals[i - 1].Cycle);
        var st = sim.Stats();
        Assert.True(st.BackPressureStalls > 0);
        Assert.Equal(sim.Options.BufferDepth, st.PeakBufferOccupancy);
    }

    [Fact]
    public void RoutesIntoDeadPesAreRejected()
    {
        var defects = new DefectMap(4, 4);
        defects.MarkDead(2, 1);
        var sim = new FabricSimulator(WaferSpec.Mesh(4, 4), defects);
        var e = Assert.Throws<InvalidOperationException>(() => sim.SetRoute(1, 1, 0, Ports.Ramp, Ports.East));
        Assert.Contains("dead", e.Message);
        Assert.Throws<ArgumentException>(() => sim.SetRoute(2, 1, 0, Ports.Ramp, Ports.West));
        Assert.Throws<InvalidOperationException>(() => sim.SetRoute(0, 0, 0, Ports.Ramp, Ports.North)); // off the fabric
        Assert.Throws<ArgumentException>(() => AllReduceProgram.Run(sim, new Region(0, 0, 4, 4), 1, (i, k) => 1));
    }

    private sealed class Starved : PeProgram
    {
        public override void Setup(Pe pe)
        {
            pe.Fabric.SetRoute(pe.X, pe.Y, 1, Ports.West, Ports.Ramp);
            BindLocalTask(0, p => p.Start(VecOp.Mov, Dsd.Mem(0, 4), Dsd.FabIn(1, 4), Completion.None));
            pe.Activate(0);
        }
    }

    [Fact]
    public void AWaitThatNeverEndsIsReportedAsADeadlock()
    {
        var sim = new FabricSimulator(WaferSpec.Mesh(2, 1));
        sim.Load(new Starved(), new Region(1, 0, 1, 1));
        var e = Assert.Throws<InvalidOperationException>(() => sim.Run());
        Assert.Contains("deadlock", e.Message);
    }

    [Fact]
    public void RunsAreDeterministicInCyclesAndBits()
    {
        (long, float[], long, float[]) Once()
        {
            var a = Random(24 * 20, 1); var b = Random(20 * 28, 2);
            var g = SummaGemmProgram.Run(new FabricSimulator(WaferSpec.Mesh(4, 4)), 0, 0, 4, a, b, 24, 20, 28);
            var x = Random(6 * 30, 3);
            var s = SoftmaxProgram.Run(new FabricSimulator(WaferSpec.Mesh(5, 3)), new Region(0, 0, 5, 3), x, 6, 30);
            return (g.Cycles, g.Output, s.Cycles, s.Output);
        }
        var r1 = Once(); var r2 = Once();
        Assert.Equal(r1.Item1, r2.Item1);
        Assert.Equal(r1.Item3, r2.Item3);
        Assert.Equal(r1.Item2.Select(BitConverter.SingleToInt32Bits), r2.Item2.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(r1.Item4.Select(BitConverter.SingleToInt32Bits), r2.Item4.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(64, 32)]
    [InlineData(48, 64)]
    public void RouterThreadsDoNotChangeCyclesBitsOrCounters(int w, int h)
    {
        // fabrics of 2048+ PEs step the two sides of a band of rows on two threads; every figure must match one thread
        (KernelRun Gemm, KernelRun Reduce, long Parallel) Once(int threads)
        {
            var o = new FabricOptions { Threads = threads };
            int p = Math.Min(w, h);
            var a = Random(2 * p * 48, 1); var b = Random(48 * 3 * p, 2);
            var s1 = new FabricSimulator(WaferSpec.Mesh(w, h), null, o);
            var g = SummaGemmProgram.Run(s1, 0, 0, p, a, b, 2 * p, 48, 3 * p);
            var v = Random(w * h * 8, 3);
            var s2 = new FabricSimulator(WaferSpec.Mesh(w, h), null, o);
            var r = AllReduceProgram.Run(s2, new Region(0, 0, w, h), 8, (i, k) => v[i * 8 + k]);
            return (g, r, s1.ParallelCycles + s2.ParallelCycles);
        }
        var one = Once(1);
        var two = Once(2);
        Assert.Equal(0, one.Parallel);
        Assert.True(two.Parallel > 0, "no cycle was stepped on two threads");
        foreach (var (x, y) in new[] { (one.Gemm, two.Gemm), (one.Reduce, two.Reduce) })
        {
            Assert.Equal(x.Cycles, y.Cycles);
            Assert.Equal(x.Output.Select(BitConverter.SingleToInt32Bits), y.Output.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(x.Stats, y.Stats);
        }
        Assert.True(one.Gemm.Stats.WaveletHops > 0 && one.Reduce.Stats.WaveletHops > 0);
    }

    [Fact]
    public void IdleCyclesAreSkippedNotStepped()
    {
        // a long FMAC loop is one event: a 32×32×32 tile (8,192 cycles at 4 lanes) costs a handful of events
        var a = Random(32 * 32, 4); var b = Random(32 * 32, 5);
        var r = SummaGemmProgram.Run(new FabricSimulator(WaferSpec.Mesh(1, 1)), 0, 0, 1, a, b, 32, 32, 32);
        Assert.True(r.Cycles >= 32 * 32 * 32 / 4);
        Assert.True(r.Stats.Events < 10, $"events {r.Stats.Events}");
        Assert.True(r.Stats.FmacUtilization > 0.99);
    }

    [Fact]
    public void KernelsOnDisjointRegionsRunConcurrentlyAndInSequence()
    {
        // two all-reduces side by side on one fabric take the time of one; a third on the first region afterwards starts at Now
        var sim = new FabricSimulator(WaferSpec.Mesh(16, 8));
        var left = new Region(0, 0, 8, 8); var right = new Region(8, 0, 8, 8);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 16; x++) sim.PeAt(x, y).F32(0, 4).Fill(x < 8 ? 1 : 2);
        sim.Load(new AllReduceProgram(4), left);
        sim.Load(new AllReduceProgram(4), right);
        long both = sim.Run();
        Assert.Equal(64f, sim.PeAt(3, 5).F32(0, 4)[3]);
        Assert.Equal(128f, sim.PeAt(12, 2).F32(0, 4)[0]);
        long alone = AllReduceProgram.Run(new FabricSimulator(WaferSpec.Mesh(8, 8)), new Region(0, 0, 8, 8), 4, (i, k) => 1).Cycles;
        Assert.Equal(alone, both);
        // the first region's results stay in PE memory: a second kernel reduces them again (64 PEs × 64)
        var again = AllReduceProgram.Run(sim, left, 4, (i, k) => sim.PeAt(i % 8, i / 8).F32(0, 4)[k]);
        Assert.Equal(64f * 64f, again.Output[0]);
        Assert.Equal(alone, again.Cycles);
    }

    [Fact]
    public void TraceAndHeatmapAreWritten()
    {
        var sim = new FabricSimulator(WaferSpec.Mesh(4, 4), options: new FabricOptions { Trace = true });
        AllReduceProgram.Run(sim, new Region(0, 0, 4, 4), 8, (i, k) => i);
        var dir = Directory.CreateTempSubdirectory("fabric");
        try
        {
            var t = Path.Combine(dir.FullName, "t.json"); var h = Path.Combine(dir.FullName, "h.svg");
            FabricReports.WriteChromeTrace(sim, t);
            FabricReports.WriteLinkHeatmap(sim, h);
            using var doc = JsonDocument.Parse(File.ReadAllText(t));
            var events = doc.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
            Assert.Contains(events, e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("name").GetString()!.StartsWith("allreduce"));
            Assert.True(events.Count(e => e.GetProperty("ph").GetString() == "X") > 16);
            var svg = File.ReadAllText(h);
            Assert.StartsWith("<svg", svg);
            Assert.Contains("<title>", svg);
        }
        finally { dir.Delete(true); }
    }
}
