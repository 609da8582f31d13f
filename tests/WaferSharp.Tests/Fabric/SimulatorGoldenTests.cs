using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Fabric;

/// <summary>
/// Pins the exact cycles, output bits (FNV-1a over the float32 bit patterns) and counters of kernel runs: a speed-up
/// must not move a single cycle or bit. When a timing rule is changed on purpose, re-record these figures and say so in
/// the commit. Last re-recorded when a freed buffer slot became visible upstream only the cycle after the pop
/// (routers visited in PE order): stalls moved, cycles only for buffer depth 1 (summa-depth1 928 → 999).
/// </summary>
public class SimulatorGoldenTests
{
    private static float[] Rnd(int n, int seed, float lo = -1, float hi = 1)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)r.NextDouble();
        return a;
    }

    private static ulong Fnv(float[] x)
    {
        ulong h = 1469598103934665603;
        foreach (var v in x) { h ^= BitConverter.SingleToUInt32Bits(v); h *= 1099511628211; }
        return h;
    }

    private static FabricSimulator Mesh(int w, int h, int depth = 4) => new(WaferSpec.Mesh(w, h), null, new FabricOptions { BufferDepth = depth });

    private static KernelRun Run(string name) => name switch
    {
        "allreduce" => AllReduce(4),
        "allreduce-depth1" => AllReduce(1),
        "broadcast-defects" => Broadcast(),
        "summa" => SummaGemmProgram.Run(Mesh(8, 8), 0, 0, 8, Rnd(100 * 64, 4), Rnd(64 * 72, 5), 100, 64, 72),
        "summa-depth1" => SummaGemmProgram.Run(Mesh(8, 8, 1), 0, 0, 8, Rnd(64 * 48, 4), Rnd(48 * 40, 5), 64, 48, 40),
        "summa-bf16" => SummaGemmProgram.Run(Mesh(4, 4), 0, 0, 4, Rnd(32 * 24, 6), Rnd(24 * 20, 7), 32, 24, 20, DType.BFloat16),
        "meshgemm" => MeshGemmProgram.Run(Mesh(8, 8), 0, 0, 8, Rnd(100 * 64, 4), Rnd(64 * 72, 5), 100, 64, 72),
        "meshgemm-depth1" => MeshGemmProgram.Run(Mesh(8, 8, 1), 0, 0, 8, Rnd(64 * 48, 4), Rnd(48 * 40, 5), 64, 48, 40),
        "gemv" => GemvProgram.Run(Mesh(16, 16), new Region(0, 0, 16, 16), Rnd(2 * 512, 7), Rnd(512 * 256, 8), 2, 512, 256),
        "softmax" => SoftmaxProgram.Run(Mesh(16, 8), new Region(0, 0, 16, 8), Rnd(64 * 512, 11, -4, 4), 64, 512),
        "layernorm" => NormProgram.Run(Mesh(3, 2), new Region(0, 0, 3, 2), Rnd(5 * 9, 12, -2, 3), 5, 9, Rnd(9, 13), Rnd(9, 14), false),
        "adam" => AdamProgram.Run(Mesh(4, 4), new Region(0, 0, 4, 4), Rnd(777, 15), Rnd(777, 16), Rnd(777, 17, -0.1f, 0.1f), Rnd(777, 18, 0, 0.01f),
            new AdamStep(1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.19f, 0.002f)),
        "stencil" => Stencil(),
        _ => throw new ArgumentException(name),
    };

    private static KernelRun AllReduce(int depth)
    {
        var v = Rnd(256 * 64, 2);
        return AllReduceProgram.Run(Mesh(16, 16, depth), new Region(0, 0, 16, 16), 64, (i, k) => v[i * 64 + k]);
    }

    private static KernelRun Broadcast()
    {
        var d = new DefectMap(9, 9);
        d.MarkDead(4, 3); d.MarkDead(3, 4); d.MarkDead(5, 4);
        return BroadcastProgram.Run(new FabricSimulator(WaferSpec.Mesh(9, 9), d), new Region(0, 0, 9, 9), 4, 4, Rnd(12, 2));
    }

    private static KernelRun Stencil()
    {
        var sim = Mesh(6, 5);
        var (field, cycles) = Examples.Stencil.StencilProgram.Run(sim, 6, 5, 8, Rnd(240, 19, 0, 1), 7, 0.5f, 0.125f);
        return new KernelRun(cycles, field, sim.Stats());
    }

    [Theory]
    [InlineData("allreduce", 395, 0xf820cbc29f6d3859UL, 12648L, 32640L, 801L, 1891L, 4)]
    [InlineData("allreduce-depth1", 462, 0x370253937dbbca0aUL, 4375L, 32640L, 801L, 1891L, 1)]
    [InlineData("broadcast-defects", 28, 0x2a7da0fea6e1049aUL, 0L, 924L, 78L, 156L, 2)]
    [InlineData("summa", 2097, 0xc42d6dd2f9460701UL, 25801L, 78848L, 1600L, 4160L, 4)]
    [InlineData("summa-depth1", 999, 0xe89f9d413be3e9c2UL, 19455L, 34944L, 1600L, 4160L, 1)]
    [InlineData("summa-bf16", 390, 0x7d3a0d7cc83a4b37UL, 2102L, 3744L, 208L, 528L, 4)]
    [InlineData("meshgemm", 3189, 0x0c3067705bfd4eefUL, 244573L, 206976L, 3264L, 9152L, 4)]
    [InlineData("meshgemm-depth1", 1513, 0xc191fdead1d4c066UL, 145737L, 91728L, 3264L, 9152L, 1)]
    [InlineData("gemv", 434, 0xffb35e0a0a2faa93UL, 3056L, 23040L, 768L, 1808L, 4)]
    [InlineData("softmax", 1097, 0xb4abdf1044bc3c48UL, 176L, 3840L, 912L, 1968L, 4)]
    [InlineData("layernorm", 130, 0x2e2bc91336a1ae1bUL, 12L, 48L, 46L, 102L, 3)]
    [InlineData("adam", 473, 0x1b83a938eec25e56UL, 0L, 0L, 16L, 16L, 0)]
    [InlineData("stencil", 364, 0x667bbb6816347681UL, 7316L, 5488L, 1582L, 4326L, 4)]
    public void CyclesBitsAndCountersAreUnchanged(string kernel, long cycles, ulong outputHash, long stalls, long hops, long tasks, long events, int peakBuffer)
    {
        var r = Run(kernel);
        Assert.Equal(cycles, r.Cycles);
        Assert.Equal(outputHash, Fnv(r.Output));
        Assert.Equal(stalls, r.Stats.BackPressureStalls);
        Assert.Equal(hops, r.Stats.WaveletHops);
        Assert.Equal(tasks, r.Stats.Tasks);
        Assert.Equal(events, r.Stats.Events);
        Assert.Equal(peakBuffer, r.Stats.PeakBufferOccupancy);
        Assert.Equal(0, r.Stats.RouteWaits);
    }
}
