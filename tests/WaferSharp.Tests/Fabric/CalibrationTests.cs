using Xunit.Abstractions;
using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Hardware;
using static WaferSharp.Tests.Fabric.FabricTestUtil;

namespace WaferSharp.Tests.Fabric;

/// <summary>
/// The compiler's cycle model against the fabric simulator, per kernel family, on fabrics from 2×2 to 64×64: every
/// prediction within 10% of the simulated cycles (the table in docs/FIDELITY.md comes from these cases).
/// </summary>
public class CalibrationTests(ITestOutputHelper output)
{
    private static CostParams P(int s) => MeshParams(s);
    private static FabricSimulator Sim(int s) => new(WaferSpec.Mesh(s, s));
    private void Within10(long simulated, double predicted, string what) => AssertCalibrated(output, simulated, predicted, what);

    [Theory]
    [InlineData(2, 4)] [InlineData(2, 16)] [InlineData(4, 8)] [InlineData(8, 4)] [InlineData(8, 16)] [InlineData(16, 8)] [InlineData(32, 4)] [InlineData(64, 2)]
    public void Gemm(int s, int tile)
    {
        int m = s * tile, k = s * tile, n = s * tile;
        var r = SummaGemmProgram.Run(Sim(s), 0, 0, s, Random(m * k, 1), Random(k * n, 2), m, k, n);
        Within10(r.Cycles, GemmKernel.Summa(m, n, k, s, s, P(s)).Cycles, $"gemm {s}x{s} tile {tile}");
    }

    [Theory]
    [InlineData(2, 4)] [InlineData(2, 16)] [InlineData(4, 8)] [InlineData(8, 16)] [InlineData(16, 8)] [InlineData(32, 4)] [InlineData(64, 2)]
    public void MeshGemmShift(int s, int tile)
    {
        int m = s * tile;
        var r = MeshGemmProgram.Run(Sim(s), 0, 0, s, Random(m * m, 1), Random(m * m, 2), m, m, m);
        Within10(r.Cycles, GemmKernel.MeshGemm(m, m, m, s, s, P(s)).Cycles, $"meshgemm {s}x{s} tile {tile}");
    }

    [Theory]
    [InlineData(2, 16)] [InlineData(4, 64)] [InlineData(8, 16)] [InlineData(16, 32)] [InlineData(32, 16)] [InlineData(64, 8)]
    public void Gemv(int s, int tile)
    {
        int k = s * tile, n = s * tile;
        var r = GemvProgram.Run(Sim(s), new Region(0, 0, s, s), Random(k, 3), Random(k * n, 4), 1, k, n);
        Within10(r.Cycles, KernelLibrary.Gemv.Raw(new KernelWork { Batch = 1, M = 1, K = k, N = n, SharedB = true }, s, s, P(s)).Cycles, $"gemv {s}x{s}");
    }

    [Theory]
    [InlineData(2, 64)] [InlineData(8, 1024)] [InlineData(32, 256)] [InlineData(64, 16)]
    public void ElementwiseAndAdam(int s, int perPe)
    {
        int e = s * s * perPe;
        var steps = new[] { new ChainStep(VecOp.Mul, 1), new ChainStep(VecOp.Add, -1, 0.5f), new ChainStep(VecOp.Relu) };
        var r = ElementwiseChainProgram.Run(Sim(s), new Region(0, 0, s, s), [Random(e, 5), Random(e, 6)], steps);
        Within10(r.Cycles, KernelLibrary.Elementwise.Raw(new KernelWork { Elements = e, Flops = 3.0 * e, BytesRead = 8L * e, BytesWritten = 4L * e }, s, s, P(s)).Cycles, $"elementwise {s}x{s}");
        var a = AdamProgram.Run(Sim(s), new Region(0, 0, s, s), Random(e, 7), Random(e, 8), Random(e, 9), Random(e, 10, 0, 1), new AdamStep(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.1f, 0.01f));
        Within10(a.Cycles, KernelLibrary.OptimizerUpdate.Raw(new KernelWork { Elements = e, Flops = 12.0 * e, BytesRead = 16L * e, BytesWritten = 12L * e }, s, s, P(s)).Cycles, $"adam {s}x{s}");
    }

    [Theory]
    [InlineData(2, 1, 8)] [InlineData(4, 4, 64)] [InlineData(8, 1, 8)] [InlineData(16, 4, 64)] [InlineData(32, 1, 8)] [InlineData(64, 2, 16)]
    public void SoftmaxAndNorms(int s, int rowsPerPe, int lenPerPe)
    {
        int rows = s * rowsPerPe, len = s * lenPerPe;
        var x = Random(rows * len, 11);
        var p = P(s);
        var sm = SoftmaxProgram.Run(Sim(s), new Region(0, 0, s, s), x, rows, len);
        Within10(sm.Cycles, KernelLibrary.Softmax.Raw(new KernelWork { Rows = rows, RowLength = len, Flops = 5.0 * rows * len, RowReductions = 2 }, s, s, p).Cycles, $"softmax {s}x{s}");
        var ln = NormProgram.Run(Sim(s), new Region(0, 0, s, s), x, rows, len, Random(len, 12), Random(len, 13), rms: false);
        Within10(ln.Cycles, KernelLibrary.Norm.Raw(new KernelWork { Rows = rows, RowLength = len, Flops = 8.0 * rows * len, RowReductions = 2 }, s, s, p).Cycles, $"layernorm {s}x{s}");
        var rms = NormProgram.Run(Sim(s), new Region(0, 0, s, s), x, rows, len, Random(len, 12), null, rms: true);
        Within10(rms.Cycles, KernelLibrary.Norm.Raw(new KernelWork { Rows = rows, RowLength = len, Flops = 4.0 * rows * len, RowReductions = 1 }, s, s, p).Cycles, $"rmsnorm {s}x{s}");
    }

    [Theory]
    [InlineData(2, 1)] [InlineData(4, 64)] [InlineData(8, 1)] [InlineData(16, 16)] [InlineData(32, 1)] [InlineData(64, 1)] [InlineData(64, 64)]
    public void CenterRootedAllReduce(int s, int n)
    {
        var r = AllReduceProgram.Run(Sim(s), new Region(0, 0, s, s), n, (i, k) => i + k);
        Within10(r.Cycles, MeshKernel.CenterAllReduce(s, s, n, P(s)), $"allreduce {s}x{s} n={n}");
    }

    [Fact]
    public void ScalarAllReduceTakesAboutTwiceTheDiameter()
    {
        // measured factor over the diameter 2(s − 1): → 2 as s grows (chains cost 3 cycles per PE over half the
        // diameter, the multicast 1 per hop over the other half); recorded in docs/FIDELITY.md
        foreach (int s in new[] { 16, 32, 64 })
        {
            long c = AllReduceProgram.Run(Sim(s), new Region(0, 0, s, s), 1, (i, k) => 1).Cycles;
            double factor = (double)c / (2 * (s - 1));
            Assert.InRange(factor, 2.0, 2.9);
        }
    }
}
