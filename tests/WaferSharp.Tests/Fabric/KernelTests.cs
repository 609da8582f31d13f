using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Hardware;
using WaferSharp.Tensors;
using static WaferSharp.Tests.Fabric.FabricTestUtil;

namespace WaferSharp.Tests.Fabric;

/// <summary>Every kernel program's output equals a CPU loop (float32 within 1e-5 relative).</summary>
public class KernelTests
{
    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(2, 2, 1)]
    [InlineData(5, 3, 7)]
    [InlineData(8, 8, 16)]
    public void AllReduceLeavesTheSumOnEveryPe(int w, int h, int n)
    {
        var sim = new FabricSimulator(WaferSpec.Mesh(w + 2, h + 1));
        var vals = Random(w * h * n, 1);
        var r = AllReduceProgram.Run(sim, new Region(1, 1, w, h), n, (i, k) => vals[i * n + k]);
        var want = new float[n];
        for (int i = 0; i < w * h; i++) for (int k = 0; k < n; k++) want[k] += vals[i * n + k];
        Assert.True(RelErr(r.Output, want) < 1e-5);
        Assert.True(r.Cycles > 0);
    }

    [Fact]
    public void BroadcastRoutesAroundDeadPes()
    {
        var defects = new DefectMap(9, 9);
        defects.MarkDead(4, 3); defects.MarkDead(3, 4); defects.MarkDead(5, 4); // a wall next to the root's column
        var sim = new FabricSimulator(WaferSpec.Mesh(9, 9), defects);
        var data = Random(12, 2);
        var r = BroadcastProgram.Run(sim, new Region(0, 0, 9, 9), 4, 4, data); // throws if a live PE misses the data
        Assert.Equal(data, r.Output);
        // no wavelet ever entered a dead PE
        foreach (var (x, y) in defects.Dead)
            for (int p = 0; p < 5; p++) Assert.Equal(0, sim.LinkWavelets(x, y, p));
        Assert.Equal(Ports.None, sim.RouteOf(4, 3, 0).Tx);
    }

    [Theory]
    [InlineData(1, 5, 4, 3)]
    [InlineData(2, 8, 8, 8)]
    [InlineData(3, 10, 7, 5)]
    [InlineData(4, 32, 24, 40)]
    public void SummaGemmMatchesCpu(int p, int m, int k, int n)
    {
        var a = Random(m * k, 3); var b = Random(k * n, 4);
        var r = SummaGemmProgram.Run(new FabricSimulator(WaferSpec.Mesh(p, p)), 0, 0, p, a, b, m, k, n);
        Assert.True(RelErr(r.Output, MatMul(a, b, m, k, n)) < 1e-5);
    }

    [Theory]
    [InlineData(1, 5, 4, 3)]
    [InlineData(2, 8, 8, 8)]
    [InlineData(3, 10, 7, 5)]
    [InlineData(5, 20, 15, 25)]
    [InlineData(6, 24, 30, 18)]
    public void MeshGemmShiftMatchesCpu(int p, int m, int k, int n)
    {
        var a = Random(m * k, 3); var b = Random(k * n, 4);
        var r = MeshGemmProgram.Run(new FabricSimulator(WaferSpec.Mesh(p, p)), 0, 0, p, a, b, m, k, n);
        Assert.True(RelErr(r.Output, MatMul(a, b, m, k, n)) < 1e-5);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(9)]
    public void InterleavedRingEdgesSpanAtMostTwoHops(int n)
    {
        var seen = new HashSet<int>();
        for (int k = 0; k < n; k++)
        {
            Assert.True(seen.Add(MeshGemmProgram.Phys(k, n)));
            Assert.Equal(k, MeshGemmProgram.Logical(MeshGemmProgram.Phys(k, n), n));
            Assert.InRange(Math.Abs(MeshGemmProgram.Phys(k, n) - MeshGemmProgram.Phys((k + 1) % n, n)), 1, 2);
        }
    }

    [Fact]
    public void SummaGemmInBf16IsWithinBf16Tolerance()
    {
        int m = 16, k = 32, n = 16;
        var a = Random(m * k, 5); var b = Random(k * n, 6);
        var ar = a.Select(v => Float16Bits.FromBFloat16(Float16Bits.ToBFloat16(v))).ToArray();
        var br = b.Select(v => Float16Bits.FromBFloat16(Float16Bits.ToBFloat16(v))).ToArray();
        var r = SummaGemmProgram.Run(new FabricSimulator(WaferSpec.Mesh(4, 4)), 0, 0, 4, a, b, m, k, n, DType.BFloat16);
        Assert.True(RelErr(r.Output, MatMul(ar, br, m, k, n)) < 1e-5);   // fp32 accumulation of bf16 operands
        Assert.True(RelErr(r.Output, MatMul(a, b, m, k, n)) < 2e-2);     // and close to the fp32 product
    }

    [Theory]
    [InlineData(1, 1, 1, 8, 8)]
    [InlineData(4, 4, 1, 64, 48)]
    [InlineData(5, 3, 2, 30, 17)]
    public void GemvMatchesCpu(int w, int h, int m, int k, int n)
    {
        var x = Random(m * k, 7); var wt = Random(k * n, 8);
        var r = GemvProgram.Run(new FabricSimulator(WaferSpec.Mesh(w, h)), new Region(0, 0, w, h), x, wt, m, k, n);
        Assert.True(RelErr(r.Output, MatMul(x, wt, m, k, n)) < 1e-5);
    }

    [Fact]
    public void ElementwiseChainMatchesCpu()
    {
        int n = 1000;
        var x = Random(n, 9); var y = Random(n, 10);
        var steps = new[] { new ChainStep(VecOp.Mul, 1), new ChainStep(VecOp.Add, -1, 0.25f), new ChainStep(VecOp.Relu), new ChainStep(VecOp.Max, 0) };
        var r = ElementwiseChainProgram.Run(new FabricSimulator(WaferSpec.Mesh(3, 4)), new Region(0, 0, 3, 4), [x, y], steps);
        var want = x.Select((v, i) => MathF.Max(MathF.Max(v * y[i] + 0.25f, 0), v)).ToArray();
        Assert.Equal(want, r.Output);
    }

    [Theory]
    [InlineData(4, 4, 8, 40)]
    [InlineData(3, 2, 5, 9)]
    public void SoftmaxMatchesCpu(int w, int h, int rows, int len)
    {
        var x = Random(rows * len, 11, -4, 4);
        var r = SoftmaxProgram.Run(new FabricSimulator(WaferSpec.Mesh(w, h)), new Region(0, 0, w, h), x, rows, len);
        var want = new float[x.Length];
        for (int i = 0; i < rows; i++)
        {
            var row = x.AsSpan(i * len, len);
            float mx = float.NegativeInfinity; foreach (var v in row) mx = MathF.Max(mx, v);
            double s = 0; foreach (var v in row) s += Math.Exp(v - mx);
            for (int j = 0; j < len; j++) want[i * len + j] = (float)(Math.Exp(row[j] - mx) / s);
        }
        Assert.True(RelErr(r.Output, want) < 1e-5);
    }

    [Theory]
    [InlineData(false, 4, 4, 8, 40)]
    [InlineData(true, 4, 4, 8, 40)]
    [InlineData(false, 3, 2, 6, 11)]
    public void NormsMatchCpu(bool rms, int w, int h, int rows, int len)
    {
        var x = Random(rows * len, 12, -2, 3); var g = Random(len, 13); var b = Random(len, 14);
        var r = NormProgram.Run(new FabricSimulator(WaferSpec.Mesh(w, h)), new Region(0, 0, w, h), x, rows, len, g, b, rms);
        var want = new float[x.Length];
        for (int i = 0; i < rows; i++)
        {
            double mean = 0, sq = 0;
            for (int j = 0; j < len; j++) mean += x[i * len + j];
            mean = rms ? 0 : mean / len;
            for (int j = 0; j < len; j++) sq += (x[i * len + j] - mean) * (x[i * len + j] - mean);
            double rstd = 1 / Math.Sqrt(sq / len + 1e-5);
            for (int j = 0; j < len; j++) want[i * len + j] = (float)((x[i * len + j] - mean) * rstd * g[j] + (rms ? 0 : b[j]));
        }
        Assert.True(RelErr(r.Output, want) < 1e-5);
    }

    [Fact]
    public void AdamWUpdateMatchesCpu()
    {
        int n = 777;
        var p = Random(n, 15); var gr = Random(n, 16); var m = Random(n, 17, -0.1f, 0.1f); var v = Random(n, 18, 0, 0.01f);
        var s = new AdamStep(1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.19f, 0.002f);
        var r = AdamProgram.Run(new FabricSimulator(WaferSpec.Mesh(4, 4)), new Region(0, 0, 4, 4), p, gr, m, v, s);
        var want = new float[3 * n];
        for (int i = 0; i < n; i++)
        {
            double mi = 0.9 * m[i] + 0.1 * gr[i], vi = 0.999 * v[i] + 0.001 * gr[i] * gr[i];
            double upd = mi / s.BiasCorrection1 / (Math.Sqrt(vi / s.BiasCorrection2) + s.Eps);
            want[i] = (float)(p[i] * (1 - s.Lr * s.WeightDecay) - s.Lr * upd);
            want[n + i] = (float)mi; want[2 * n + i] = (float)vi;
        }
        Assert.True(RelErr(r.Output[..n], want[..n]) < 1e-5);
        Assert.True(RelErr(r.Output[n..], want[n..]) < 1e-5);
    }

    [Fact]
    public void StencilExampleMatchesCpuLoop()
    {
        const int w = 6, h = 5, nz = 8, steps = 7;
        var u0 = Random(w * h * nz, 19, 0, 1);
        var (field, cycles) = Examples.Stencil.StencilProgram.Run(new FabricSimulator(WaferSpec.Mesh(w, h)), w, h, nz, u0, steps, 0.5f, 0.125f);
        Assert.True(RelErr(field, Examples.Stencil.StencilProgram.Reference(w, h, nz, u0, steps, 0.5f, 0.125f)) < 1e-5);
        Assert.True(cycles >= steps * 4 * nz); // four streams per step share each PE's ramp
    }
}
