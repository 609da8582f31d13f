using WaferSharp.Compiler;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Fabric.Programs;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Fabric;

/// <summary>
/// Row programs (norm and softmax gradients, log-softmax, the causal mask) and layout moves on the fabric simulator
/// against the ops' CPU rules: one-op graphs through the whole-program runner (no node may fall back to the host), and
/// the row kernels directly on uneven regions (several rows and a partial slice per PE, dγ/dβ reduced down 4 PE rows).
/// </summary>
public class RowAndLayoutProgramTests
{
    private static DenseTensor Rand(int seed, params int[] dims)
    {
        var n = dims.Aggregate(1, (a, b) => a * b);
        return DenseTensor.FromArray(FabricTestUtil.Random(n, seed, -2, 2), dims);
    }

    // runs a one-op graph on the fabric and on the CPU; returns (fabric, cpu) outputs in output order
    private static (float[][] Fabric, float[][] Cpu, ProgramRun Run) OneOp(string op, Attrs attrs, DenseTensor[] inputs, string device = "mesh:16x16")
    {
        var gb = new GraphBuilder();
        var vs = inputs.Select((t, i) => gb.Input($"x{i}", new TensorType(DType.Float32, t.Shape))).ToArray();
        var outs = gb.Emit(op, attrs, vs);
        for (int i = 0; i < outs.Length; i++) gb.Output($"y{i}", outs[i]);
        var g = gb.Graph;
        var feeds = vs.Select((v, i) => (v, inputs[i])).ToDictionary(p => p.v, p => p.Item2);
        var spec = WaferSpec.Parse(device);
        var prog = WaferCompiler.Compile(g, inputs[0].Shape.Rank > 0 ? inputs[0].Shape[0] : 1, new CompileOptions { Wafer = spec, Precision = Precision.Fp32 });
        var run = new WaferProgramRunner(g, prog, spec).Run(feeds);
        var cpu = new CpuExecutor(g).Run(feeds);
        float[] F(ExecutionResult r, int i) => r.Outputs[$"y{i}"].AsFloat32().AsFloat().ToArray();
        return (outs.Select((_, i) => F(run.Result, i)).ToArray(), outs.Select((_, i) => F(cpu, i)).ToArray(), run);
    }

    private static void Close((float[][] Fabric, float[][] Cpu, ProgramRun Run) r, double tol = 1e-5)
    {
        Assert.Empty(r.Run.HostComputed);
        Assert.True(r.Run.Cycles > 0);
        for (int i = 0; i < r.Cpu.Length; i++)
            Assert.True(FabricTestUtil.RelErr(r.Fabric[i], r.Cpu[i]) <= tol, $"output {i}: relative error {FabricTestUtil.RelErr(r.Fabric[i], r.Cpu[i]):G3}");
    }

    private static void Exact((float[][] Fabric, float[][] Cpu, ProgramRun Run) r)
    {
        Assert.Empty(r.Run.HostComputed);
        for (int i = 0; i < r.Cpu.Length; i++) Assert.Equal(r.Cpu[i], r.Fabric[i]);
    }

    private static DenseTensor Softmax(DenseTensor x, string op = "Softmax") =>
        OpRegistry.Get(op).Execute([x], Attrs.Of(("axis", -1)), [new TensorType(DType.Float32, x.Shape)])[0];

    [Fact]
    public void SoftmaxGradEqualsTheCpuRule() =>
        Close(OneOp("SoftmaxGrad", Attrs.Of(("axis", -1)), [Softmax(Rand(1, 3, 5, 12)), Rand(2, 3, 5, 12)]));

    [Fact]
    public void LogSoftmaxAndItsGradientEqualTheCpuRules()
    {
        Close(OneOp("LogSoftmax", Attrs.Of(("axis", -1)), [Rand(3, 6, 10)]));
        Close(OneOp("LogSoftmaxGrad", Attrs.Of(("axis", -1)), [Softmax(Rand(4, 6, 10), "LogSoftmax"), Rand(5, 6, 10)]));
    }

    [Fact]
    public void LayerNormGradEqualsTheCpuRuleWithAndWithoutAffine()
    {
        Close(OneOp("LayerNormGrad", Attrs.Of(("eps", 1e-5)), [Rand(6, 4, 6, 20), Rand(7, 4, 6, 20), Rand(8, 20)]));
        Close(OneOp("LayerNormGrad", Attrs.Of(("eps", 1e-5)), [Rand(9, 9, 7), Rand(10, 9, 7)]));
    }

    [Fact]
    public void RmsNormGradEqualsTheCpuRule() =>
        Close(OneOp("RMSNormGrad", Attrs.Of(("eps", 1e-6)), [Rand(11, 10, 24), Rand(12, 10, 24), Rand(13, 24)]));

    [Fact]
    public void CausalMaskIsBitExact()
    {
        Exact(OneOp("CausalMask", Attrs.Of(("fill", double.NegativeInfinity), ("offset", 0L)), [Rand(14, 2, 3, 5, 5)]));
        Exact(OneOp("CausalMask", Attrs.Of(("fill", 0.0), ("offset", 1L)), [Rand(15, 2, 4, 6)]));
    }

    [Theory]
    [InlineData(1, new[] { 2, 3, 4 })]
    [InlineData(-1, new[] { 1, 5 })]
    [InlineData(0, new[] { 3, 1 })]
    [InlineData(2, new[] { 6, 0, 3 })]
    public void SplitIsBitExact(int axis, int[] sizes)
    {
        int[] dims = axis switch { 1 => [4, 9, 6], -1 => [5, 3, 6], 2 => [2, 3, 9, 2], _ => [4, 7] };
        Exact(OneOp("Split", Attrs.Of(("axis", axis), ("sizes", sizes)), [Rand(16, dims)]));
    }

    [Fact]
    public void ConcatIsBitExact()
    {
        Exact(OneOp("Concat", Attrs.Of(("axis", 0)), [Rand(17, 2, 5), Rand(18, 3, 5)]));
        Exact(OneOp("Concat", Attrs.Of(("axis", 2)), [Rand(19, 2, 3, 4), Rand(20, 2, 3, 1), Rand(21, 2, 3, 5)]));
    }

    [Theory]
    [InlineData(1, 1L, 7L, 1L)]
    [InlineData(1, 1L, 8L, 2L)]
    [InlineData(2, 5L, 0L, -2L)]
    [InlineData(0, -3L, 100L, 1L)]
    public void SliceAndSliceGradAreBitExact(int axis, long start, long end, long step)
    {
        var x = Rand(22, 3, 8, 6);
        var a = Attrs.Of(("axis", axis), ("start", start), ("end", end), ("step", step));
        var sliced = OneOp("Slice", a, [x]);
        Exact(sliced);
        var g = DenseTensor.FromArray(sliced.Cpu[0], OpRegistry.Get("Slice").InferTypes([new TensorType(DType.Float32, x.Shape)], a)[0].Shape.Dims.ToArray());
        Exact(OneOp("SliceGrad", a.With("shape", x.Shape.ToArray()), [g]));
    }

    [Theory]
    [InlineData(new[] { 0, 2, 1, 3 })]
    [InlineData(new[] { 1, 0, 2 })]
    [InlineData(new[] { 0, 3, 1, 2 })]
    [InlineData(new[] { 0, 1, 2, 3 })]
    public void TransposesKeepingAnAxisAreBitExactFiberMoves(int[] perm)
    {
        var x = perm.Length == 3 ? Rand(23, 5, 4, 3) : Rand(24, 2, 5, 4, 3);
        Exact(OneOp("Transpose", Attrs.Of(("perm", perm)), [x]));
    }

    [Theory]
    [InlineData(new[] { 1, 0 }, new[] { 6, 9 })]
    [InlineData(new[] { 2, 0, 1 }, new[] { 3, 4, 5 })]
    [InlineData(new[] { 1, 2, 0 }, new[] { 7, 2, 3 })]
    public void TransposesOfEveryAxisAreExchangedBetweenPesBitExact(int[] perm, int[] dims)
    {
        var r = OneOp("Transpose", Attrs.Of(("perm", perm)), [Rand(25, dims)]);
        Exact(r);
        Assert.Contains(r.Run.Kernels, k => k.SimulatedCycles > 0);
    }

    [Fact]
    public void AnExchangeRowPlacesEachPeSliceAndStreamsBetweenPes()
    {
        // 5 × 7 → 7 × 5 over a row of 4 PEs: every PE keeps some elements and sends the rest along the row
        var x = FabricTestUtil.Random(35, 61);
        var sim = new FabricSimulator(WaferSpec.Parse("mesh:8x8"));
        var src = TransposeExchange.Sources(new Shape(5, 7), [1, 0]);
        var (y, cycles) = TransposeExchange.Run(sim, new Region(2, 3, 4, 2), x, src, "t")!.Value;
        for (int i = 0; i < 7; i++) for (int j = 0; j < 5; j++) Assert.Equal(x[j * 7 + i], y[i * 5 + j]);
        Assert.True(cycles > 0);
        Assert.True(sim.LinkWavelets(2, 3, PortIndex.East) > 0, "PE (2, 3) sent east along the row");
    }

    [Fact]
    public void ALayoutOpTooLargeForItsProgramIsListedAsHostComputed()
    {
        // 26,000 elements exceed an 8-PE exchange row's SRAM: the host applies the transpose, the fabric copies
        var r = OneOp("Transpose", Attrs.Of(("perm", new[] { 1, 0 })), [Rand(26, 200, 130)]);
        Assert.Equal(r.Cpu[0], r.Fabric[0]);
        Assert.Single(r.Run.HostComputed);
        Assert.Contains("Transpose", r.Run.HostComputed[0]);
    }

    [Theory]
    [InlineData("ReduceSum", new[] { 0 }, false)]
    [InlineData("ReduceMean", new[] { 0, 2 }, true)]
    [InlineData("ReduceSum", new int[0], false)]
    [InlineData("ReduceMean", new[] { -1 }, false)]
    public void ReductionsAreRowSumsEqualToTheCpuRule(string op, int[] axes, bool keepDims) =>
        Close(OneOp(op, Attrs.Of(("axes", axes), ("keepdims", keepDims)), [Rand(27, 6, 5, 9)]));

    [Fact]
    public void MseLossEqualsTheCpuRule() => Close(OneOp("MseLoss", Attrs.Empty, [Rand(28, 12, 20), Rand(29, 12, 20)]));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NormGradOnAnUnevenRegionReducesParameterGradientsDownThePeColumns(bool rms)
    {
        // 10 rows of 17 on 3 × 4 PEs: 3 rows and up to 6 elements per PE, the last PE row and column partly empty
        int rows = 10, len = 17;
        float[] g = FabricTestUtil.Random(rows * len, 31), x = FabricTestUtil.Random(rows * len, 32), w = FabricTestUtil.Random(len, 33);
        var sim = new FabricSimulator(WaferSpec.Parse("mesh:8x8"));
        var (dx, grads, cycles) = NormGradProgram.Run(sim, new Region(1, 2, 3, 4), g, x, rows, len, w, rms, 1e-5f);
        var op = OpRegistry.Get(rms ? "RMSNormGrad" : "LayerNormGrad");
        DenseTensor T(float[] a, params int[] d) => DenseTensor.FromArray(a, d);
        var ins = new[] { T(g, rows, len), T(x, rows, len), T(w, len) };
        var want = op.Execute(ins, Attrs.Of(("eps", 1e-5)), op.InferTypes(ins.Select(t => new TensorType(DType.Float32, t.Shape)).ToArray(), Attrs.Of(("eps", 1e-5))));
        Assert.True(cycles > 0);
        Assert.True(FabricTestUtil.RelErr(dx, want[0].AsFloat().ToArray()) <= 1e-5);
        Assert.Equal(rms ? 1 : 2, grads.Length);
        for (int i = 0; i < grads.Length; i++) Assert.True(FabricTestUtil.RelErr(grads[i], want[i + 1].AsFloat().ToArray()) <= 1e-5, $"parameter gradient {i}");
    }

    [Fact]
    public void SoftmaxGradOnAnUnevenRegionEqualsTheCpuRule()
    {
        int rows = 7, len = 11;
        var y = Softmax(Rand(41, rows, len)).AsFloat().ToArray();
        var g = FabricTestUtil.Random(rows * len, 42);
        var sim = new FabricSimulator(WaferSpec.Parse("mesh:8x8"));
        var run = SoftmaxGradProgram.Run(sim, new Region(0, 0, 4, 3), y, g, rows, len);
        var ins = new[] { DenseTensor.FromArray(y, rows, len), DenseTensor.FromArray(g, rows, len) };
        var want = OpRegistry.Get("SoftmaxGrad").Execute(ins, Attrs.Of(("axis", -1)), [new TensorType(DType.Float32, new Shape(rows, len))])[0];
        Assert.True(FabricTestUtil.RelErr(run.Output, want.AsFloat().ToArray()) <= 1e-5);
    }
}
