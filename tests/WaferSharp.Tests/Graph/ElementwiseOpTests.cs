using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Graph.Ops;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Graph;

/// <summary>Elementwise, comparison, reduction and utility ops: what the golden fixtures do not cover.</summary>
public class ElementwiseOpTests
{
    // ---------- helpers ----------

    private static DenseTensor Run1(string op, Attrs? attrs, params DenseTensor[] ins) =>
        KernelInvoker.Run(OpRegistry.Get(op), ins, attrs ?? Attrs.Empty)[0];

    private static DenseTensor[] RunAll(string op, Attrs? attrs, params DenseTensor[] ins) =>
        KernelInvoker.Run(OpRegistry.Get(op), ins, attrs ?? Attrs.Empty);

    private static DenseTensor F(float[] data, params int[] dims) => DenseTensor.FromArray(data, dims);
    private static DenseTensor L(long[] data, params int[] dims) => DenseTensor.FromArray(data, dims);
    private static DenseTensor B(bool[] data, params int[] dims) => DenseTensor.FromArray(data, dims);

    private static DenseTensor Random(int seed, params int[] dims)
    {
        var rng = new Random(seed);
        var t = DenseTensor.Zeros(dims);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 4 - 2);
        return t;
    }

    /// <summary>Gradients of Σ g·op(inputs) w.r.t. every input, through autodiff and the CPU executor.</summary>
    private static DenseTensor[] Grads(string op, Attrs? attrs, DenseTensor g, params DenseTensor[] ins)
    {
        var b = new GraphBuilder();
        var vs = ins.Select((t, i) => b.Input("x" + i, new TensorType(t.DType, t.Shape))).ToArray();
        var y = b.Op(op, attrs, vs);
        var gs = Autodiff.Grad(b, y, vs, b.Constant(g));
        for (int i = 0; i < gs.Length; i++) b.Output("g" + i, gs[i]);
        var r = new CpuExecutor(b.Graph).Run(vs.Select((v, i) => (v, ins[i])).ToDictionary(p => p.v, p => p.Item2));
        return Enumerable.Range(0, gs.Length).Select(i => r.Outputs["g" + i]).ToArray();
    }

    // ---------- integer arithmetic ----------

    [Fact]
    public void IntegerArithmeticBroadcasts()
    {
        var a = L([7, -7, 9, 0, 5, -5], 2, 3);
        var b = L([2, -2, 4], 3);
        Assert.Equal(new long[] { 9, -9, 13, 2, 3, -1 }, Run1("Add", null, a, b).AsInt64().ToArray());
        Assert.Equal(new long[] { 5, -5, 5, -2, 7, -9 }, Run1("Sub", null, a, b).AsInt64().ToArray());
        Assert.Equal(new long[] { 14, 14, 36, 0, -10, -20 }, Run1("Mul", null, a, b).AsInt64().ToArray());
        // truncation toward zero (ONNX/C), not floor: -7/2 = -3, 5/-2 = -2
        Assert.Equal(new long[] { 3, 3, 2, 0, -2, -1 }, Run1("Div", null, a, b).AsInt64().ToArray());
        Assert.Equal(new long[] { 2, -7, 4, 0, -2, -5 }, Run1("Minimum", null, a, b).AsInt64().ToArray());
        Assert.Equal(new long[] { 7, -2, 9, 2, 5, 4 }, Run1("Maximum", null, a, b).AsInt64().ToArray());
    }

    [Fact]
    public void Int64ArithmeticIsExactBeyondDoublePrecision()
    {
        // ONNX slice ends use INT64_MAX; shape arithmetic must not round through double
        var big = L([long.MaxValue, long.MaxValue - 1], 2);
        var one = L([1], 1);
        Assert.Equal(new long[] { long.MaxValue - 1, long.MaxValue - 2 }, Run1("Sub", null, big, one).AsInt64().ToArray());
        Assert.Equal(new long[] { 1, 1 }, Run1("Minimum", null, big, one).AsInt64().ToArray());
        Assert.Equal(new long[] { long.MaxValue, long.MaxValue - 1 }, Run1("Maximum", null, big, one).AsInt64().ToArray());
        Assert.Equal(long.MinValue + 1, Run1("Div", null, L([long.MaxValue], 1), L([-1], 1)).AsInt64()[0]);
    }

    [Fact]
    public void Int32Arithmetic()
    {
        var a = DenseTensor.FromArray(new[] { 10, -10, 3 }, 3);
        var b = DenseTensor.FromArray(new[] { 3 }, 1);
        Assert.Equal(new[] { 3, -3, 1 }, Run1("Div", null, a, b).AsInt32().ToArray());
        Assert.Equal(new[] { 30, -30, 9 }, Run1("Mul", null, a, b).AsInt32().ToArray());
        Assert.Equal(DType.Int32, Run1("Add", null, a, b).DType);
    }

    [Fact]
    public void IntegerDivisionByZeroThrows() =>
        Assert.Throws<DivideByZeroException>(() => Run1("Div", null, L([1], 1), L([0], 1)));

    [Fact]
    public void PowAndFloatBinaryOpsBroadcast()
    {
        var y = Run1("Pow", null, F([2, 3], 2, 1), F([0, 1, 2], 3));
        Assert.Equal(new float[] { 1, 2, 4, 1, 3, 9 }, y.AsFloat().ToArray());
        Assert.Equal(new Shape(2, 3), y.Shape);
    }

    // ---------- Minimum / Maximum ----------

    [Fact]
    public void MaximumMinimumGradientsSplitTies()
    {
        var a = F([1, 2, 3], 3);
        var b = F([1, 0, 5], 3);
        var g = F([1, 1, 1], 3);
        var gmax = Grads("Maximum", null, g, a, b);
        Assert.Equal(new float[] { 0.5f, 1, 0 }, gmax[0].AsFloat().ToArray());
        Assert.Equal(new float[] { 0.5f, 0, 1 }, gmax[1].AsFloat().ToArray());
        var gmin = Grads("Minimum", null, g, a, b);
        Assert.Equal(new float[] { 0.5f, 0, 1 }, gmin[0].AsFloat().ToArray());
        Assert.Equal(new float[] { 0.5f, 1, 0 }, gmin[1].AsFloat().ToArray());
    }

    [Fact]
    public void MaximumGradientSumsOverBroadcast()
    {
        // b is a scalar broadcast against a: its gradient collects every element where it won (ties count half)
        var a = F([0, 1, 2, 3], 4);
        var b = F([1], 1);
        var gs = Grads("Maximum", null, F([1, 1, 1, 1], 4), a, b);
        Assert.Equal(new float[] { 0, 0.5f, 1, 1 }, gs[0].AsFloat().ToArray());
        Assert.Equal(new float[] { 1.5f }, gs[1].AsFloat().ToArray());
    }

    [Fact]
    public void MaximumPropagatesNaN()
    {
        var y = Run1("Maximum", null, F([float.NaN, 1], 2), F([0, float.NaN], 2));
        Assert.True(float.IsNaN(y.AsFloat()[0]) && float.IsNaN(y.AsFloat()[1]));
    }

    // ---------- comparisons and logic ----------

    [Fact]
    public void ComparisonsOnIntegersAndFloats()
    {
        var a = L([1, 2, 3], 3);
        var b = L([2], 1);
        Assert.Equal(new[] { false, true, false }, Run1("Equal", null, a, b).AsBool().ToArray());
        Assert.Equal(new[] { true, false, true }, Run1("NotEqual", null, a, b).AsBool().ToArray());
        Assert.Equal(new[] { true, false, false }, Run1("Less", null, a, b).AsBool().ToArray());
        Assert.Equal(new[] { true, true, false }, Run1("LessEqual", null, a, b).AsBool().ToArray());
        Assert.Equal(new[] { false, false, true }, Run1("Greater", null, a, b).AsBool().ToArray());
        Assert.Equal(new[] { false, true, true }, Run1("GreaterEqual", null, a, b).AsBool().ToArray());
        // NaN compares false, except NotEqual
        var n = F([float.NaN], 1);
        Assert.False(Run1("Equal", null, n, n).AsBool()[0]);
        Assert.True(Run1("NotEqual", null, n, n).AsBool()[0]);
        Assert.False(Run1("GreaterEqual", null, n, F([0], 1)).AsBool()[0]);
    }

    [Fact]
    public void ComparisonOfBf16ComparesValues()
    {
        var a = F([1.5f, -2, 3], 3).To(DType.BFloat16);
        var b = F([1.5f], 1).To(DType.BFloat16);
        Assert.Equal(new[] { true, false, false }, Run1("Equal", null, a, b).AsBool().ToArray());
    }

    [Fact]
    public void LogicalOpsBroadcast()
    {
        var a = B([true, false], 2, 1);
        var b = B([true, false, true], 3);
        Assert.Equal(new[] { true, false, true, false, false, false }, Run1("And", null, a, b).AsBool().ToArray());
        Assert.Equal(new[] { true, true, true, true, false, true }, Run1("Or", null, a, b).AsBool().ToArray());
        Assert.Equal(new[] { false, true }, Run1("Not", null, a).AsBool().ToArray());
        Assert.Throws<ShapeException>(() => Run1("And", null, a, F([1], 1)));
    }

    // ---------- Where ----------

    [Fact]
    public void WhereBroadcastsAllThree()
    {
        var c = B([true, false], 2, 1, 1);
        var a = F([1, 2, 3], 1, 3, 1);
        var b = F([10, 20, 30, 40], 1, 1, 4);
        var y = Run1("Where", null, c, a, b);
        Assert.Equal(new Shape(2, 3, 4), y.Shape);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    Assert.Equal(i == 0 ? j + 1 : 10 * (k + 1), y[i, j, k]);
    }

    [Fact]
    public void WhereOnInt64AndGradientsMasked()
    {
        var y = Run1("Where", null, B([true, false, true], 3), L([1, 2, 3], 3), L([-1], 1));
        Assert.Equal(new long[] { 1, -1, 3 }, y.AsInt64().ToArray());
        var gs = Grads("Where", null, F([1, 2, 3], 3), B([true, false, true], 3), F([0, 0, 0], 3), F([0], 1));
        Assert.Equal(new float[] { 1, 0, 3 }, gs[1].AsFloat().ToArray());
        Assert.Equal(new float[] { 2 }, gs[2].AsFloat().ToArray());
    }

    [Fact]
    public void WhereMismatchNamesAllShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Run1("Where", null, B([true, false], 2), F([1, 2, 3], 3), F([0], 1)));
        Assert.Contains("[2]", e.Message);
        Assert.Contains("[3]", e.Message);
    }

    // ---------- Expand ----------

    [Fact]
    public void ExpandBroadcastsAnyDtype()
    {
        var y = Run1("Expand", Attrs.Of(("shape", new[] { 2, 3, 2 })), F([1, 2, 3], 3, 1));
        Assert.Equal(new Shape(2, 3, 2), y.Shape);
        Assert.Equal(new float[] { 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3 }, y.AsFloat().ToArray());
        var yl = Run1("Expand", Attrs.Of(("shape", new[] { 2, 2 })), L([5, 6], 2));
        Assert.Equal(new long[] { 5, 6, 5, 6 }, yl.AsInt64().ToArray());
        var yb = Run1("Expand", Attrs.Of(("shape", new[] { 3 })), B([true], 1));
        Assert.Equal(new[] { true, true, true }, yb.AsBool().ToArray());
        var yh = Run1("Expand", Attrs.Of(("shape", new[] { 2, 2 })), F([1.5f, -2], 2).To(DType.BFloat16));
        Assert.Equal(DType.BFloat16, yh.DType);
        Assert.Equal(new float[] { 1.5f, -2, 1.5f, -2 }, yh.ToFloatArray());
    }

    [Fact]
    public void ExpandFollowsOnnxWhenTargetHasOnes()
    {
        // ONNX: output = broadcast(input, shape), so 1s in the target keep the input's size
        var y = Run1("Expand", Attrs.Of(("shape", new[] { 1, 1 })), F([1, 2, 3, 4, 5, 6], 2, 3));
        Assert.Equal(new Shape(2, 3), y.Shape);
        var y2 = Run1("Expand", Attrs.Of(("shape", new[] { 2, 1, 1 })), F([1, 2, 3, 4, 5, 6], 2, 3));
        Assert.Equal(new Shape(2, 2, 3), y2.Shape);
    }

    [Fact]
    public void ExpandMismatchNamesBothShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Run1("Expand", Attrs.Of(("shape", new[] { 4 })), F([1, 2, 3], 3)));
        Assert.Contains("[3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void ExpandGradientSums()
    {
        var g = Grads("Expand", Attrs.Of(("shape", new[] { 2, 3 })), F([1, 2, 3, 4, 5, 6], 2, 3), F([0, 0], 2, 1));
        Assert.Equal(new float[] { 6, 15 }, g[0].AsFloat().ToArray());
    }

    // ---------- Cast ----------

    [Fact]
    public void CastFloatToIntTruncatesTowardZero()
    {
        var x = F([-2.7f, -0.5f, 0.5f, 2.99f, -3f], 5);
        Assert.Equal(new long[] { -2, 0, 0, 2, -3 }, Run1("Cast", Attrs.Of(("to", "i64")), x).AsInt64().ToArray());
        Assert.Equal(new[] { -2, 0, 0, 2, -3 }, Run1("Cast", Attrs.Of(("to", "i32")), x).AsInt32().ToArray());
    }

    [Fact]
    public void CastToBoolAndBack()
    {
        var y = Run1("Cast", Attrs.Of(("to", "bool")), F([0f, -0f, 1e-30f, -2f], 4));
        Assert.Equal(new[] { false, false, true, true }, y.AsBool().ToArray());
        Assert.Equal(new float[] { 0, 0, 1, 1 }, Run1("Cast", Attrs.Of(("to", "f32")), y).AsFloat().ToArray());
        Assert.Equal(new long[] { 0, 0, 1, 1 }, Run1("Cast", Attrs.Of(("to", "i64")), y).AsInt64().ToArray());
    }

    [Fact]
    public void CastToBf16RoundsToNearestEven()
    {
        float tieDown = 1f + MathF.Pow(2, -8);      // halfway between 1 and 1+2^-7: even is 1
        float tieUp = 1f + 3 * MathF.Pow(2, -8);    // halfway between 1+2^-7 and 1+2^-6: even is 1+2^-6
        float above = 1f + MathF.Pow(2, -8) + MathF.Pow(2, -20);
        var y = Run1("Cast", Attrs.Of(("to", "bf16")), F([tieDown, tieUp, above, -tieDown], 4));
        Assert.Equal(DType.BFloat16, y.DType);
        Assert.Equal(new float[] { 1f, 1f + MathF.Pow(2, -6), 1f + MathF.Pow(2, -7), -1f }, y.ToFloatArray());
    }

    [Fact]
    public void CastGradientReturnsToInputDtype()
    {
        var g = Grads("Cast", Attrs.Of(("to", "bf16")), F([1.5f, 2], 2).To(DType.BFloat16), F([0, 0], 2));
        Assert.Equal(DType.Float32, g[0].DType);
        Assert.Equal(new float[] { 1.5f, 2 }, g[0].AsFloat().ToArray());
    }

    [Fact]
    public void CastRejectsUnknownDtype() =>
        Assert.Throws<ShapeException>(() => Run1("Cast", Attrs.Of(("to", "f64")), F([1], 1)));

    // ---------- reductions ----------

    /// <summary>Naive reduction by enumerating every input index.</summary>
    private static float[] NaiveReduce(DenseTensor x, int[] axes, Func<float, float, float> f, float init)
    {
        var outDims = Enumerable.Range(0, x.Rank).Select(i => axes.Contains(i) ? 1 : x.Shape[i]).ToArray();
        var o = Enumerable.Repeat(init, (int)new Shape(outDims).Numel).ToArray();
        var xs = x.AsFloat();
        var idx = new int[x.Rank];
        for (int i = 0; i < xs.Length; i++)
        {
            int oi = 0;
            for (int d = 0; d < x.Rank; d++) oi = oi * outDims[d] + (axes.Contains(d) ? 0 : idx[d]);
            o[oi] = f(o[oi], xs[i]);
            for (int d = x.Rank - 1; d >= 0; d--) { if (++idx[d] < x.Shape[d]) break; idx[d] = 0; }
        }
        return o;
    }

    public static TheoryData<int[], int[]> ReduceCases => new()
    {
        { new[] { 5, 7 }, new[] { 1 } },          // rows
        { new[] { 5, 7 }, new[] { 0 } },          // columns
        { new[] { 3, 4, 5 }, new[] { 1 } },       // kept, reduced, kept
        { new[] { 3, 4, 5 }, new[] { 0, 2 } },    // reduced, kept, reduced
        { new[] { 2, 3, 4, 5 }, new[] { 1, 3 } }, // general odometer
        { new[] { 2, 1, 4, 1 }, new[] { 1, 2 } }, // size-1 dims
        { new[] { 3, 4 }, new[] { 0, 1 } },       // all
        { new[] { 600, 130 }, new[] { 1 } },      // parallel rows
        { new[] { 700, 130 }, new[] { 0 } },      // parallel column blocks
        { new[] { 64, 40, 33 }, new[] { 0, 2 } }, // big general
    };

    [Theory]
    [MemberData(nameof(ReduceCases))]
    public void ReductionsMatchNaive(int[] shape, int[] axes)
    {
        var x = Random(shape.Sum(), shape);
        var attrs = Attrs.Of(("axes", axes), ("keepdims", true));
        var sum = NaiveReduce(x, axes, (a, b) => a + b, 0);
        var got = Run1("ReduceSum", attrs, x).AsFloat().ToArray();
        for (int i = 0; i < sum.Length; i++) Assert.True(Math.Abs(got[i] - sum[i]) <= 1e-4 * (1 + Math.Abs(sum[i])), $"sum[{i}] {got[i]} vs {sum[i]}");
        Assert.Equal(NaiveReduce(x, axes, MathF.Max, float.NegativeInfinity), Run1("ReduceMax", attrs, x).AsFloat().ToArray());
        Assert.Equal(NaiveReduce(x, axes, MathF.Min, float.PositiveInfinity), Run1("ReduceMin", attrs, x).AsFloat().ToArray());
        long n = axes.Aggregate(1L, (p, a) => p * shape[a]);
        var mean = Run1("ReduceMean", attrs, x).AsFloat().ToArray();
        for (int i = 0; i < sum.Length; i++) Assert.True(Math.Abs(mean[i] - sum[i] / n) <= 1e-5 * (1 + Math.Abs(sum[i] / n)));
    }

    [Fact]
    public void ReduceShapesAndDefaults()
    {
        var x = Random(1, 2, 3, 4);
        Assert.Equal(new Shape(2, 4), Run1("ReduceMin", Attrs.Of(("axes", new[] { -2 }), ("keepdims", false)), x).Shape);
        Assert.Equal(new Shape(1, 1, 1), Run1("ReduceSum", null, x).Shape);                                  // all axes, keepdims default true
        Assert.Equal(Shape.Scalar, Run1("ReduceMax", Attrs.Of(("axes", Array.Empty<int>()), ("keepdims", false)), x).Shape);
        var e = Assert.Throws<ShapeException>(() => Run1("ReduceSum", Attrs.Of(("axes", new[] { 3 })), x));
        Assert.Contains("[2,3,4]", e.Message);
    }

    [Fact]
    public void ReduceMinValuesAndNaN()
    {
        var x = F([3, -1, 2, 5, 0, float.NaN], 2, 3);
        var y = Run1("ReduceMin", Attrs.Of(("axes", new[] { 1 }), ("keepdims", false)), x);
        Assert.Equal(-1f, y.AsFloat()[0]);
        Assert.True(float.IsNaN(y.AsFloat()[1]));
    }

    [Fact]
    public void ReduceMaxGradientSplitsTies()
    {
        var g = Grads("ReduceMax", Attrs.Of(("axes", new[] { 1 }), ("keepdims", false)), F([1, 4], 2), F([2, 2, 1, 0, 3, -1], 2, 3));
        Assert.Equal(new float[] { 0.5f, 0.5f, 0, 0, 4, 0 }, g[0].AsFloat().ToArray());
    }

    [Fact]
    public void ArgMaxFirstOccurrenceAndNaN()
    {
        var x = F([1, 3, 3, 0, 5, float.NaN, 2, 7, 7, 7, 1, 0], 3, 4);
        var y = Run1("ArgMax", Attrs.Of(("axis", -1), ("keepdims", false)), x);
        Assert.Equal(DType.Int64, y.DType);
        Assert.Equal(new long[] { 1, 1, 0 }, y.AsInt64().ToArray());
        var y0 = Run1("ArgMax", Attrs.Of(("axis", 0)), x);
        Assert.Equal(new Shape(1, 4), y0.Shape);
        Assert.Equal(new long[] { 2, 1, 0, 1 }, y0.AsInt64().ToArray());
        var yl = Run1("ArgMax", Attrs.Of(("axis", 0), ("keepdims", false)), L([long.MaxValue - 1, long.MaxValue], 2));
        Assert.Equal(1, yl.AsInt64()[0]);
    }

    // ---------- Dropout ----------

    [Fact]
    public void DropoutStatisticsAndDeterminism()
    {
        const int n = 100_000;
        const double p = 0.3;
        var x = DenseTensor.Full(new Shape(n), 2f);
        var a = RunAll("Dropout", Attrs.Of(("p", p), ("seed", 7L)), x);
        var mask = a[1].AsBool().ToArray();
        double kept = mask.Count(m => m) / (double)n;
        Assert.InRange(kept, 1 - p - 0.01, 1 - p + 0.01); // σ ≈ 0.0014
        var y = a[0].AsFloat();
        float scale = (float)(1 / (1 - p));
        for (int i = 0; i < n; i++) Assert.Equal(mask[i] ? 2f * scale : 0f, y[i]);
        // same seed, same mask (also across the parallel split); another seed, another mask
        Assert.Equal(mask, RunAll("Dropout", Attrs.Of(("p", p), ("seed", 7L)), x)[1].AsBool().ToArray());
        var other = RunAll("Dropout", Attrs.Of(("p", p), ("seed", 8L)), x)[1].AsBool().ToArray();
        double agree = mask.Zip(other).Count(t => t.First == t.Second) / (double)n;
        Assert.InRange(agree, 0.55, 0.61); // independent masks agree with probability p² + (1-p)² = 0.58
        // a prefix of a big tensor has the same mask as a small tensor (counter-based, no threading effects)
        var small = RunAll("Dropout", Attrs.Of(("p", p), ("seed", 7L)), DenseTensor.Full(new Shape(1000), 2f))[1].AsBool().ToArray();
        Assert.Equal(mask.Take(1000), small);
    }

    [Fact]
    public void DropoutEdgeProbabilities()
    {
        var x = Random(3, 4, 5);
        var a = RunAll("Dropout", Attrs.Of(("p", 0.0)), x);
        Assert.True(a[0].BitEquals(x));
        Assert.All(a[1].AsBool().ToArray(), Assert.True);
        var z = RunAll("Dropout", Attrs.Of(("p", 1.0)), x);
        Assert.All(z[0].AsFloat().ToArray(), v => Assert.Equal(0f, v));
        Assert.Throws<ShapeException>(() => RunAll("Dropout", Attrs.Of(("p", 1.5)), x));
    }

    [Fact]
    public void DropoutGradientUsesTheMask()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(1000));
        var outs = b.Emit("Dropout", Attrs.Of(("p", 0.5), ("seed", 3L)), x);
        var g = Autodiff.Grad(b, outs[0], [x])[0];
        b.Output("mask", outs[1]);
        b.Output("g", g);
        var r = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor> { [x] = Random(1, 1000) });
        var mask = r.Outputs["mask"].AsBool();
        var gs = r.Outputs["g"].AsFloat();
        for (int i = 0; i < 1000; i++) Assert.Equal(mask[i] ? 2f : 0f, gs[i]);
    }

    // ---------- shape errors ----------

    [Theory]
    [InlineData("Sub")]
    [InlineData("Mul")]
    [InlineData("Pow")]
    [InlineData("Maximum")]
    [InlineData("Less")]
    public void BroadcastMismatchNamesBothShapes(string op)
    {
        var b = new GraphBuilder();
        var e = Assert.Throws<ShapeException>(() => b.Op(op, b.Input("a", TensorType.F32(2, 3)), b.Input("b", TensorType.F32(4))));
        Assert.Contains(op, e.Message);
        Assert.Contains("[2,3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void MixedDtypesAreRejected()
    {
        var b = new GraphBuilder();
        Assert.Throws<ShapeException>(() => b.Op("Add", b.Input("a", TensorType.F32(2)), b.Input("b", new TensorType(DType.Int64, new Shape(2)))));
        Assert.Throws<ShapeException>(() => b.Op("Pow", b.Input("c", new TensorType(DType.Int64, new Shape(2))), b.Input("d", new TensorType(DType.Int64, new Shape(2)))));
        Assert.Throws<ShapeException>(() => b.Op("Exp", b.Input("e", new TensorType(DType.Int64, new Shape(2)))));
    }

    // ---------- unary numerics ----------

    public static TheoryData<double, double> ErfTable => new()
    {
        { -5, -0.9999999999984626 }, { -3.9, -0.9999999652077514 }, { -2.5, -0.999593047982555 }, { -1.5, -0.9661051464753108 },
        { -1, -0.8427007929497149 }, { -0.5, -0.5204998778130465 }, { -0.001, -0.0011283787909692365 }, { 0, 0.0 },
        { 1e-30, 1.1283791670955127e-30 }, { 1e-08, 1.1283791670955126e-08 }, { 0.1, 0.1124629160182849 },
        { 0.3, 0.3286267594591274 }, { 0.4999, 0.5204119951613866 }, { 0.5, 0.5204998778130465 }, { 0.5001, 0.5205877516768808 },
        { 0.75, 0.7111556336535151 }, { 1, 0.8427007929497149 }, { 1.25, 0.9229001282564582 }, { 1.5, 0.9661051464753108 },
        { 2, 0.9953222650189527 }, { 2.4999, 0.9995928300996666 }, { 2.5, 0.999593047982555 }, { 3, 0.9999779095030014 },
        { 3.5, 0.9999992569016276 }, { 4, 0.9999999845827421 }, { 4.4999, 0.9999999998032028 }, { 4.5, 0.9999999998033839 }, { 6, 1.0 },
    };

    [Theory]
    [MemberData(nameof(ErfTable))]
    public void ErfMatchesReference(double x, double expected)
    {
        double got = ErfFunction.Erf(x);
        double tol = Math.Abs(x) >= 4.5 ? 3e-10 : 1e-12 + 1e-12 * Math.Abs(expected);
        Assert.True(Math.Abs(got - expected) <= tol, $"erf({x}) = {got:R}, expected {expected:R}");
        Assert.Equal((float)expected, (float)got); // hence exact to float32 rounding here
    }

    [Fact]
    public void ErfIsContinuousAcrossPieces()
    {
        for (double b = 0.5; b < 4.4; b += 0.5)
        {
            double lo = ErfFunction.Erf(b - 1e-9), hi = ErfFunction.Erf(b + 1e-9);
            Assert.InRange(hi - lo, -1e-13, 1e-8); // the true step is ≤ 2.3e-9; the fits agree to ~1e-14
        }
    }

    [Fact]
    public void GeluAndSiluTails()
    {
        var x = F([-30, -10, 10, 30], 4);
        var none = Run1("Gelu", Attrs.Of(("approximate", "none")), x).AsFloat().ToArray();
        var tanh = Run1("Gelu", Attrs.Of(("approximate", "tanh")), x).AsFloat().ToArray();
        // the negative tail is exact to float precision: gelu(-10) = -7.6e-23, gelu(-30) underflows to 0
        Assert.True(Math.Abs(none[0]) < 1e-30 && Math.Abs(none[1]) < 1e-20);
        Assert.Equal(new float[] { 10, 30 }, none[2..]);
        Assert.Equal(10f, tanh[2]);
        Assert.True(Math.Abs(tanh[0]) < 1e-20);
        var silu = Run1("Silu", null, x).AsFloat().ToArray();
        Assert.Equal(30f, silu[3]);
        Assert.True(silu[0] > -1e-10 && silu[0] < 0);
        Assert.Throws<ShapeException>(() => Run1("Gelu", Attrs.Of(("approximate", "fast")), x));
    }

    [Fact]
    public void BigUnaryKernelsRunInParallelChunksDeterministically()
    {
        var x = Random(5, 300_000);
        var y = Run1("Erf", null, x).AsFloat();
        var xs = x.AsFloat();
        for (int i = 0; i < xs.Length; i += 997) Assert.Equal((float)ErfFunction.Erf(xs[i]), y[i]);
        Assert.True(Run1("Tanh", null, x).BitEquals(Run1("Tanh", null, x)));
    }

    [Fact]
    public void Bf16GradientGraphsKeepDtypes()
    {
        // gradient rules must make their scalar constants in the operand's dtype
        var b = new GraphBuilder();
        var x = b.Input("x", new TensorType(DType.BFloat16, new Shape(4)));
        var y = b.Op("Rsqrt", b.Op("Sqrt", b.Op("Tanh", b.Op("Gelu", b.Op("Exp", x)))));
        var loss = b.ReduceMean(y, [0], false);
        var g = Autodiff.Grad(b, loss, [x])[0];
        Assert.Equal(DType.BFloat16, g.DType);
        b.Output("g", g);
        var r = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor> { [x] = F([0.1f, 0.2f, 0.5f, 1f], 4).To(DType.BFloat16) });
        Assert.All(r.Outputs["g"].ToFloatArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void AbsGradientIsZeroAtZero()
    {
        var g = Grads("Abs", null, F([1, 1, 1], 3), F([-2, 0, 3], 3));
        Assert.Equal(new float[] { -1, 0, 1 }, g[0].AsFloat().ToArray());
    }

    [Fact]
    public void PowGradientAtZeroBaseIsFinite()
    {
        var g = Grads("Pow", null, F([1, 1], 2), F([0, 0], 2), F([2, 0], 2));
        Assert.Equal(new float[] { 0, 0 }, g[0].AsFloat().ToArray());
        Assert.Equal(new float[] { 0, 0 }, g[1].AsFloat().ToArray());
    }
}
