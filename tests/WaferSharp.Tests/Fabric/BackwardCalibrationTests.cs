using Xunit.Abstractions;
using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using static WaferSharp.Tests.Fabric.FabricTestUtil;

namespace WaferSharp.Tests.Fabric;

/// <summary>
/// The compiler's cycle formulas of the backward row ops (SoftmaxGrad, LogSoftmax, LogSoftmaxGrad, LayerNormGrad,
/// RMSNormGrad) and the causal mask against their fabric programs, on fabrics from 2×2 to 64×64: every prediction within
/// 10% of the simulated cycles (the "Backward row kernels" table in docs/FIDELITY.md comes from these cases).
/// </summary>
public class BackwardCalibrationTests(ITestOutputHelper output)
{
    private static CostParams P(int s) => MeshParams(s);
    private static FabricSimulator Sim(int s) => new(WaferSpec.Mesh(s, s));
    private void Within10(long simulated, double predicted, string what) => AssertCalibrated(output, simulated, predicted, what);

    private static double Predict(MeshKernel k, RowOp op, int rows, int len, int s, bool affine = false, int reductions = 1) =>
        k.Raw(new KernelWork { Rows = rows, RowLength = len, RowOp = op, Affine = affine, RowReductions = reductions, Flops = 5.0 * rows * len }, s, s, P(s)).Cycles;

    [Theory]
    [InlineData(2, 1, 8)] [InlineData(2, 8, 128)] [InlineData(4, 4, 64)] [InlineData(8, 1, 8)] [InlineData(8, 3, 20)] [InlineData(16, 4, 64)]
    [InlineData(32, 1, 8)] [InlineData(32, 2, 32)] [InlineData(64, 2, 16)]
    public void SoftmaxFamily(int s, int rowsPerPe, int lenPerPe)
    {
        int rows = s * rowsPerPe, len = s * lenPerPe;
        var region = new Region(0, 0, s, s);
        float[] y = Random(rows * len, 21), g = Random(rows * len, 22);
        var sg = SoftmaxGradProgram.Run(Sim(s), region, y, g, rows, len);
        Within10(sg.Cycles, Predict(KernelLibrary.Softmax, RowOp.SoftmaxGrad, rows, len, s), $"softmax-grad {s}x{s} {rows}x{len}");
        var ls = LogSoftmaxProgram.Run(Sim(s), region, y, rows, len);
        Within10(ls.Cycles, Predict(KernelLibrary.Softmax, RowOp.Forward, rows, len, s, reductions: 2), $"log-softmax {s}x{s} {rows}x{len}");
        var lg = LogSoftmaxGradProgram.Run(Sim(s), region, y, g, rows, len);
        Within10(lg.Cycles, Predict(KernelLibrary.Softmax, RowOp.LogSoftmaxGrad, rows, len, s), $"log-softmax-grad {s}x{s} {rows}x{len}");
    }

    [Theory]
    [InlineData(2, 1, 8)] [InlineData(2, 8, 128)] [InlineData(4, 4, 64)] [InlineData(8, 1, 8)] [InlineData(8, 3, 20)] [InlineData(16, 4, 64)]
    [InlineData(32, 1, 8)] [InlineData(32, 2, 32)] [InlineData(64, 2, 16)]
    public void NormGradFamily(int s, int rowsPerPe, int lenPerPe)
    {
        int rows = s * rowsPerPe, len = s * lenPerPe;
        var region = new Region(0, 0, s, s);
        float[] g = Random(rows * len, 23), x = Random(rows * len, 24), gamma = Random(len, 25);
        var ln = NormGradProgram.Run(Sim(s), region, g, x, rows, len, gamma, rms: false, eps: 1e-5f);
        Within10(ln.Cycles, Predict(KernelLibrary.Norm, RowOp.LayerNormGrad, rows, len, s, affine: true, reductions: 2), $"layernorm-grad {s}x{s} {rows}x{len}");
        var ln0 = NormGradProgram.Run(Sim(s), region, g, x, rows, len, null, rms: false, eps: 1e-5f);
        Within10(ln0.Cycles, Predict(KernelLibrary.Norm, RowOp.LayerNormGrad, rows, len, s, affine: false, reductions: 2), $"layernorm-grad (no γ) {s}x{s} {rows}x{len}");
        var rms = NormGradProgram.Run(Sim(s), region, g, x, rows, len, gamma, rms: true, eps: 1e-6f);
        Within10(rms.Cycles, Predict(KernelLibrary.Norm, RowOp.RMSNormGrad, rows, len, s, affine: true, reductions: 2), $"rmsnorm-grad {s}x{s} {rows}x{len}");
    }

    [Theory]
    [InlineData(2, 1, 8, false)] [InlineData(2, 8, 32, true)] [InlineData(4, 4, 64, false)] [InlineData(8, 2, 8, true)] [InlineData(8, 3, 20, false)]
    [InlineData(16, 4, 64, false)] [InlineData(32, 1, 8, true)] [InlineData(32, 2, 32, false)] [InlineData(64, 2, 16, true)]
    public void CausalMask(int s, int rowsPerPe, int lenPerPe, bool square)
    {
        // square: Tq = Tk with several (batch·head) blocks of rows; else one block of Tq = rows queries aligned bottom-right
        int rows = s * rowsPerPe, len = s * lenPerPe;
        int tq = square ? len : rows;
        if (square) rows = Math.Max(rows, len) / len * len;
        long offset = len - tq;
        var x = Random(rows * len, 26);
        var m = CausalMaskProgram.Run(Sim(s), new Region(0, 0, s, s), x, rows, len, tq, offset, float.NegativeInfinity);
        var work = new KernelWork { Elements = (long)rows * len, Rows = rows, RowLength = len, MaskQueries = tq, MaskOffset = offset, RowOp = RowOp.CausalMask };
        Within10(m.Cycles, KernelLibrary.Elementwise.Raw(work, s, s, P(s)).Cycles, $"causal-mask {s}x{s} {rows}x{len} Tq={tq}");
    }

    [Fact]
    public void KernelLibraryGivesTheBackwardOpsTheirFormulas()
    {
        var p = P(8);
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4, 16, 64));
        var g = b.Input("g", TensorType.F32(4, 16, 64));
        var w = b.Parameter("w", TensorType.F32(64));
        var nodes = new (string Op, Value[] Ins, RowOp Expect, MeshKernel Family)[]
        {
            ("SoftmaxGrad", [x, g], RowOp.SoftmaxGrad, KernelLibrary.Softmax),
            ("LogSoftmax", [x], RowOp.Forward, KernelLibrary.Softmax),
            ("LogSoftmaxGrad", [x, g], RowOp.LogSoftmaxGrad, KernelLibrary.Softmax),
            ("LayerNormGrad", [g, x, w], RowOp.LayerNormGrad, KernelLibrary.Norm),
            ("RMSNormGrad", [g, x, w], RowOp.RMSNormGrad, KernelLibrary.Norm),
            ("CausalMask", [x], RowOp.CausalMask, KernelLibrary.Elementwise),
        };
        foreach (var (op, ins, expect, family) in nodes)
        {
            var v = b.Emit(op, Attrs.Empty, ins);
            var (k, work) = KernelLibrary.For(v[0].Producer!, p);
            Assert.Same(family, k);
            Assert.Equal(expect, work.RowOp);
            Assert.Equal(64, work.RowLength);
            Assert.Equal(64, work.Rows);
            if (op == "CausalMask") Assert.Equal(16, work.MaskQueries);
            if (op.EndsWith("NormGrad", StringComparison.Ordinal)) Assert.True(work.Affine);
        }
    }
}
