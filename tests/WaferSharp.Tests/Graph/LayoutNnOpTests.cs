using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Graph;

/// <summary>Layout, indexing, normalization, attention and loss ops: what the golden fixtures do not cover.</summary>
public class LayoutNnOpTests
{
    // ---------- helpers ----------

    private static DenseTensor Run1(string op, Attrs? attrs, params DenseTensor[] ins) =>
        KernelInvoker.Run(OpRegistry.Get(op), ins, attrs ?? Attrs.Empty)[0];

    private static DenseTensor[] RunAll(string op, Attrs? attrs, params DenseTensor[] ins) =>
        KernelInvoker.Run(OpRegistry.Get(op), ins, attrs ?? Attrs.Empty);

    private static DenseTensor Iota(params int[] dims)
    {
        var t = DenseTensor.Zeros(dims);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = i;
        return t;
    }

    private static DenseTensor Random(int seed, params int[] dims)
    {
        var rng = new Random(seed);
        var t = DenseTensor.Zeros(dims);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    /// <summary>Iota data in the given dtype (bool: alternating pattern from i % 3 != 0).</summary>
    private static DenseTensor Data(DType dt, params int[] dims)
    {
        var f = Iota(dims);
        if (dt == DType.Bool)
        {
            var b = DenseTensor.Zeros(f.Shape, DType.Bool);
            for (int i = 0; i < b.Length; i++) b.AsBool()[i] = i % 3 != 0;
            return b;
        }
        return f.To(dt);
    }

    /// <summary>Runs a forward op and returns the gradients of its inputs for the given output seeds.</summary>
    private static DenseTensor[] Grads(string op, Attrs? attrs, DenseTensor[] ins, int[] wrt, DenseTensor[] seeds)
    {
        var b = new GraphBuilder();
        var vs = ins.Select((t, i) => b.Input("in" + i, new TensorType(t.DType, t.Shape))).ToArray();
        var outs = b.Emit(op, attrs, vs);
        Value? loss = null;
        Value[]? grads = null;
        if (outs.Length == 1)
        {
            var seed = b.Input("seed0", outs[0].Type);
            grads = Autodiff.Grad(b, outs[0], wrt.Select(i => vs[i]).ToArray(), seed);
        }
        else
        {
            // Σ_j sum(out_j · seed_j) through a Concat of flattened products keeps to this file's ops where possible.
            for (int j = 0; j < outs.Length; j++)
            {
                var s = b.Input("seed" + j, outs[j].Type);
                var term = b.ReduceSum(b.Mul(outs[j], s), Enumerable.Range(0, outs[j].Rank).ToArray(), false);
                loss = loss is null ? term : b.Add(loss, term);
            }
            grads = Autodiff.Grad(b, loss!, wrt.Select(i => vs[i]).ToArray());
        }
        for (int k = 0; k < grads.Length; k++) b.Output("g" + k, grads[k]);
        var feeds = new Dictionary<Value, DenseTensor>();
        for (int i = 0; i < ins.Length; i++) feeds[vs[i]] = ins[i];
        foreach (var v in b.Graph.Inputs.Where(v => v.Name!.StartsWith("seed")))
            feeds[v] = seeds[int.Parse(v.Name!.AsSpan(4))];
        var r = new CpuExecutor(b.Graph).Run(feeds);
        return Enumerable.Range(0, grads.Length).Select(k => r.Outputs["g" + k]).ToArray();
    }

    private static void AssertSame(DenseTensor expected, DenseTensor actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(expected.BitEquals(actual), $"contents differ: expected [{string.Join(",", expected.ToFloatArray())}] got [{string.Join(",", actual.ToFloatArray())}]");
    }

    // ---------- layout ops on every dtype ----------

    public static IEnumerable<object[]> LayoutCases()
    {
        var cases = new (string Op, Attrs Attrs, int[] Shape)[]
        {
            ("Reshape", Attrs.Of(("shape", new[] { 0, -1 })), [2, 3, 4]),
            ("Transpose", Attrs.Of(("perm", new[] { 2, 0, 1 })), [2, 3, 4]),
            ("Transpose", Attrs.Of(("perm", new[] { 0, 2, 1 })), [2, 37, 41]),
            ("Transpose", Attrs.Of(("perm", new[] { 1, 0 })), [5, 3]),
            ("Slice", Attrs.Of(("axis", 1), ("start", -3), ("end", 100), ("step", 2)), [2, 5, 3]),
            ("Slice", Attrs.Of(("axis", -1), ("start", 3), ("end", 0), ("step", -2)), [2, 5]),
            ("Squeeze", Attrs.Of(("axes", new[] { 1 })), [3, 1, 2, 1]),
            ("Squeeze", Attrs.Empty, [3, 1, 2, 1]),
            ("Unsqueeze", Attrs.Of(("axes", new[] { 0, -1 })), [3, 2]),
            ("Flatten", Attrs.Of(("axis", 2)), [2, 3, 4]),
            ("Flatten", Attrs.Of(("axis", 0)), [2, 3]),
        };
        foreach (var dt in new[] { DType.Int64, DType.Int32, DType.Bool, DType.BFloat16, DType.Float16 })
            foreach (var c in cases) yield return [c.Op, c.Attrs.ToString(), c.Attrs, c.Shape, dt];
    }

    [Theory]
    [MemberData(nameof(LayoutCases))]
    public void LayoutOpsMoveEveryDtypeBitExactly(string op, string attrText, Attrs attrs, int[] shape, DType dt)
    {
        _ = attrText;
        var f = Data(DType.Float32, shape);
        var x = Data(dt, shape);
        var rf = Run1(op, attrs, f);
        var rx = Run1(op, attrs, x);
        Assert.Equal(dt, rx.DType);
        Assert.Equal(rf.Shape, rx.Shape);
        // Same positions selected: compare to the f32 result mapped through the same element → value map.
        var src = x.ToFloatArray();
        var srcF = f.ToFloatArray();
        var got = rx.ToFloatArray();
        var pos = rf.ToFloatArray(); // f32 iota: the value is the source position
        for (int i = 0; i < got.Length; i++) Assert.Equal(src[(int)pos[i]], got[i]);
        Assert.Equal(srcF.Length, src.Length);
        if (dt is DType.BFloat16 or DType.Float16)
        {
            // bit patterns are copied, never recomputed
            var raw = x.AsUInt16().ToArray();
            var outRaw = rx.AsUInt16();
            for (int i = 0; i < outRaw.Length; i++) Assert.Equal(raw[(int)pos[i]], outRaw[i]);
        }
    }

    [Theory]
    [InlineData(DType.Int64)]
    [InlineData(DType.Bool)]
    [InlineData(DType.BFloat16)]
    public void ConcatSplitGatherEmbeddingOnEveryDtype(DType dt)
    {
        var a = Data(dt, 2, 2, 3);
        var b = Data(dt, 2, 1, 3);
        var c = Run1("Concat", Attrs.Of(("axis", 1)), a, b);
        Assert.Equal(dt, c.DType);
        Assert.Equal(new Shape(2, 3, 3), c.Shape);
        var parts = RunAll("Split", Attrs.Of(("axis", 1), ("sizes", new[] { 2, 1 })), c);
        AssertSame(a, parts[0]);
        AssertSame(b, parts[1]);

        var g = Run1("Gather", Attrs.Of(("axis", 2)), a, DenseTensor.FromArray(new long[] { 2, 0, -1 }, 3));
        Assert.Equal(dt, g.DType);
        var af = a.ToFloatArray(); var gf = g.ToFloatArray();
        for (int r = 0; r < 4; r++)
        {
            Assert.Equal(af[r * 3 + 2], gf[r * 3 + 0]);
            Assert.Equal(af[r * 3 + 0], gf[r * 3 + 1]);
            Assert.Equal(af[r * 3 + 2], gf[r * 3 + 2]);
        }

        var w = Data(dt, 4, 3);
        var e = Run1("Embedding", null, w, DenseTensor.FromArray(new int[] { 3, 1, 3 }, 3));
        Assert.Equal(new Shape(3, 3), e.Shape);
        var wf = w.ToFloatArray(); var ef = e.ToFloatArray();
        for (int j = 0; j < 3; j++) { Assert.Equal(wf[9 + j], ef[j]); Assert.Equal(wf[3 + j], ef[3 + j]); Assert.Equal(wf[9 + j], ef[6 + j]); }
    }

    [Fact]
    public void SliceGradPadsWithZerosForIntegerDtypes()
    {
        var g = DenseTensor.FromArray(new long[] { 7, 8, 9, 10 }, 2, 2);
        var r = Run1("SliceGrad", Attrs.Of(("axis", 1), ("start", 1), ("end", 5), ("step", 2), ("shape", new[] { 2, 5 })), g);
        Assert.Equal(new long[] { 0, 7, 0, 8, 0, 0, 9, 0, 10, 0 }, r.AsInt64().ToArray());
    }

    // ---------- reshape ----------

    [Fact]
    public void ReshapeInfersMinusOneAndCopiesZero()
    {
        var t = Run1("Reshape", Attrs.Of(("shape", new[] { 0, -1, 2 })), Iota(3, 4, 2));
        Assert.Equal(new Shape(3, 4, 2), t.Shape);
        Assert.Equal(Iota(3, 4, 2).ToFloatArray(), t.ToFloatArray());
    }

    [Theory]
    [InlineData(new[] { -1, -1 }, "more than one -1")]
    [InlineData(new[] { 5, -1 }, "cannot infer the -1")]
    [InlineData(new[] { 5, 5 }, "cannot reshape [2,3,4] (24 elements) to [5,5] (25 elements)")]
    [InlineData(new[] { 0, 0, 0, 0 }, "copies dim 3")]
    [InlineData(new[] { -2, 12 }, "invalid dim -2")]
    public void ReshapeErrorsNameTheShapes(int[] spec, string expected)
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 3, 4));
        var e = Assert.Throws<ShapeException>(() => b.Op("Reshape", Attrs.Of(("shape", spec)), x));
        Assert.Contains(expected, e.Message);
        Assert.Contains("[2,3,4]", e.Message);
        Assert.StartsWith("Reshape:", e.Message);
    }

    // ---------- gather / embedding ----------

    [Fact]
    public void GatherNegativeIndicesCountFromTheEnd()
    {
        var x = Iota(2, 5);
        var r = Run1("Gather", Attrs.Of(("axis", 1)), x, DenseTensor.FromArray(new long[] { -1, 0, -5 }, 3));
        Assert.Equal(new float[] { 4, 0, 0, 9, 5, 5 }, r.ToFloatArray());
        var r32 = Run1("Gather", Attrs.Of(("axis", 0)), x, DenseTensor.FromArray(new int[] { -2 }, 1));
        Assert.Equal(new float[] { 0, 1, 2, 3, 4 }, r32.ToFloatArray());
    }

    [Theory]
    [InlineData(5L)]
    [InlineData(-6L)]
    public void GatherOutOfRangeNamesIndexAndDim(long bad)
    {
        var x = Iota(2, 5);
        var e = Assert.ThrowsAny<ArgumentException>(() => Run1("Gather", Attrs.Of(("axis", 1)), x, DenseTensor.FromArray(new long[] { 0, bad }, 2)));
        Assert.Contains($"index {bad}", e.Message);
        Assert.Contains("dim 1 of size 5", e.Message);
        Assert.Contains("[2,5]", e.Message);
    }

    [Fact]
    public void GatherGradientOfNegativeAndRepeatedIndicesAccumulates()
    {
        var x = Iota(2, 3);
        var idx = DenseTensor.FromArray(new long[] { -1, 2, 0 }, 3);
        var seed = DenseTensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var g = Grads("Gather", Attrs.Of(("axis", 1)), [x, idx], [0], [seed])[0];
        Assert.Equal(new float[] { 3, 0, 3, 6, 0, 9 }, g.ToFloatArray());
    }

    [Fact]
    public void EmbeddingRepeatedIndicesAccumulateGradient()
    {
        var w = Random(1, 4, 2);
        var idx = DenseTensor.FromArray(new long[] { 1, 3, 1, 1, 0, 3 }, 2, 3);
        var seed = Iota(2, 3, 2);
        var g = Grads("Embedding", null, [w, idx], [0], [seed])[0];
        Assert.Equal(new Shape(4, 2), g.Shape);
        // row 0 ← item 4; row 1 ← items 0, 2, 3; row 2 ← none; row 3 ← items 1, 5
        Assert.Equal(new float[] { 8, 9, 0 + 4 + 6, 1 + 5 + 7, 0, 0, 2 + 10, 3 + 11 }, g.ToFloatArray());
    }

    [Fact]
    public void EmbeddingRejectsNegativeAndOutOfRangeIndices()
    {
        var w = Random(1, 4, 2);
        var e = Assert.ThrowsAny<ArgumentException>(() => Run1("Embedding", null, w, DenseTensor.FromArray(new long[] { 4 }, 1)));
        Assert.Contains("index 4", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => Run1("Embedding", null, w, DenseTensor.FromArray(new long[] { -1 }, 1)));
    }

    [Fact]
    public void IndicesMustBeIntegers()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4, 2));
        var i = b.Input("i", TensorType.F32(3));
        var e = Assert.Throws<ShapeException>(() => b.Op("Gather", Attrs.Of(("axis", 0)), x, i));
        Assert.Contains("f32[3]", e.Message);
        Assert.Throws<ShapeException>(() => b.Op("Embedding", x, i));
    }

    // ---------- concat / split / slice gradients ----------

    [Fact]
    public void SplitThenConcatGradientRoundTrips()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 6));
        var parts = b.Emit("Split", Attrs.Of(("axis", 1), ("sizes", new[] { 1, 2, 3 })), x);
        var y = b.Op("Concat", Attrs.Of(("axis", 1)), parts[2], parts[0], parts[1]);
        var seed = b.Input("seed", y.Type);
        var gx = Autodiff.Grad(b, y, [x], seed)[0];
        b.Output("y", y); b.Output("gx", gx);
        var xs = Iota(2, 6);
        var ss = Random(3, 2, 6);
        var r = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor> { [x] = xs, [seed] = ss });
        Assert.Equal(new float[] { 3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8 }, r.Outputs["y"].ToFloatArray());
        // gx is the inverse permutation of the seed
        var s = ss.ToFloatArray(); var g = r.Outputs["gx"].ToFloatArray();
        int[] perm = [3, 4, 5, 0, 1, 2];
        for (int row = 0; row < 2; row++)
            for (int j = 0; j < 6; j++) Assert.Equal(s[row * 6 + j], g[row * 6 + perm[j]]);
    }

    [Fact]
    public void SplitGradientFillsZerosForUnusedOutputs()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 4));
        var parts = b.Emit("Split", Attrs.Of(("axis", -1), ("sizes", new[] { 1, 3 })), x);
        var seed = b.Input("seed", parts[1].Type);
        var gx = Autodiff.Grad(b, parts[1], [x], seed)[0];
        b.Output("gx", gx);
        var r = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor> { [x] = Iota(2, 4), [seed] = Iota(2, 3) });
        Assert.Equal(new float[] { 0, 0, 1, 2, 0, 3, 4, 5 }, r.Outputs["gx"].ToFloatArray());
    }

    [Fact]
    public void ConcatGradientSlicesPerInput()
    {
        var g = Grads("Concat", Attrs.Of(("axis", 0)), [Iota(1, 2), Iota(2, 2)], [0, 1], [Iota(3, 2)]);
        Assert.Equal(new float[] { 0, 1 }, g[0].ToFloatArray());
        Assert.Equal(new float[] { 2, 3, 4, 5 }, g[1].ToFloatArray());
    }

    [Fact]
    public void SliceNegativeStepAndItsGradient()
    {
        var x = Iota(6);
        var a = Attrs.Of(("axis", 0), ("start", -1), ("end", -100), ("step", -2));
        Assert.Equal(new float[] { 5, 3, 1 }, Run1("Slice", a, x).ToFloatArray());
        Assert.Equal(new float[] { 5, 4, 3, 2, 1, 0 }, Run1("Slice", Attrs.Of(("axis", 0), ("step", -1)), x).ToFloatArray());
        Assert.Empty(Run1("Slice", Attrs.Of(("axis", 0), ("start", 2), ("end", 4), ("step", -1)), x).ToFloatArray());
        var g = Grads("Slice", a, [x], [0], [DenseTensor.FromArray(new float[] { 1, 2, 3 }, 3)])[0];
        Assert.Equal(new float[] { 0, 3, 0, 2, 0, 1 }, g.ToFloatArray());
    }

    [Fact]
    public void SqueezeUnsqueezeFlattenTransposeGradientsRestoreShape()
    {
        var seedsq = Iota(3, 2);
        Assert.Equal(new Shape(3, 1, 2), Grads("Squeeze", Attrs.Of(("axes", new[] { 1 })), [Iota(3, 1, 2)], [0], [seedsq])[0].Shape);
        Assert.Equal(new Shape(3, 2), Grads("Unsqueeze", Attrs.Of(("axes", new[] { 1 })), [Iota(3, 2)], [0], [Iota(3, 1, 2)])[0].Shape);
        Assert.Equal(new Shape(2, 3, 4), Grads("Flatten", Attrs.Of(("axis", 1)), [Iota(2, 3, 4)], [0], [Iota(2, 12)])[0].Shape);
        var gt = Grads("Transpose", Attrs.Of(("perm", new[] { 1, 2, 0 })), [Iota(2, 3, 4)], [0], [Iota(3, 4, 2)])[0];
        Assert.Equal(new Shape(2, 3, 4), gt.Shape);
        // Transposing back the transposed iota gives the iota of the seed's layout
        Assert.Equal(Run1("Transpose", Attrs.Of(("perm", new[] { 2, 0, 1 })), Iota(3, 4, 2)).ToFloatArray(), gt.ToFloatArray());
    }

    // ---------- shape errors ----------

    [Fact]
    public void ShapeErrorsNameOpAndShapes()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 3));
        var y = b.Input("y", TensorType.F32(4, 4));
        var w = b.Input("w", TensorType.F32(4));
        var t = b.Input("t", new TensorType(DType.Int64, new Shape(3)));

        var e1 = Assert.Throws<ShapeException>(() => b.Op("Concat", Attrs.Of(("axis", 0)), x, y));
        Assert.Contains("[2,3]", e1.Message); Assert.Contains("[4,4]", e1.Message); Assert.StartsWith("Concat", e1.Message);
        var e2 = Assert.Throws<ShapeException>(() => b.Op("Transpose", Attrs.Of(("perm", new[] { 0, 0 })), x));
        Assert.Contains("[2,3]", e2.Message);
        var e3 = Assert.Throws<ShapeException>(() => b.Emit("Split", Attrs.Of(("axis", 1), ("sizes", new[] { 1, 1 })), x));
        Assert.Contains("[2,3]", e3.Message);
        var e4 = Assert.Throws<ShapeException>(() => b.Op("LayerNorm", Attrs.Of(("eps", 1e-5)), x, w));
        Assert.Contains("f32[4]", e4.Message); Assert.Contains("[2,3]", e4.Message);
        var e5 = Assert.Throws<ShapeException>(() => b.Op("CrossEntropy", x, t));
        Assert.Contains("[2,3]", e5.Message); Assert.Contains("[3]", e5.Message);
        var e6 = Assert.Throws<ShapeException>(() => b.Op("Squeeze", Attrs.Of(("axes", new[] { 0 })), x));
        Assert.Contains("[2,3]", e6.Message);
        var e7 = Assert.Throws<ShapeException>(() => b.Op("Rope", b.Input("odd", TensorType.F32(1, 2, 3))));
        Assert.Contains("[1,2,3]", e7.Message);
        var e8 = Assert.Throws<ShapeException>(() => b.Op("Slice", Attrs.Of(("axis", 2), ("start", 0), ("end", 1)), x));
        Assert.Contains("[2,3]", e8.Message);
        var e9 = Assert.Throws<ShapeException>(() => b.Op("MseLoss", x, y));
        Assert.Contains("f32[2,3]", e9.Message); Assert.Contains("f32[4,4]", e9.Message);
    }

    // ---------- nn ----------

    [Fact]
    public void CausalMaskWithOffset()
    {
        var x = DenseTensor.Full(new Shape(2, 2, 4), 1f);
        var r = Run1("CausalMask", Attrs.Of(("offset", 2)), x).ToFloatArray();
        float I = float.NegativeInfinity;
        var expect = new float[] { 1, 1, 1, I, 1, 1, 1, 1 };
        Assert.Equal(expect.Concat(expect).ToArray(), r);
        var r2 = Run1("CausalMask", Attrs.Of(("offset", -1), ("fill", -5.0)), DenseTensor.Full(new Shape(3, 3), 1f)).ToFloatArray();
        Assert.Equal(new float[] { -5, -5, -5, 1, -5, -5, 1, 1, -5 }, r2);
        var g = Grads("CausalMask", Attrs.Of(("offset", 1)), [DenseTensor.Full(new Shape(3, 3), 1f)], [0], [DenseTensor.Full(new Shape(3, 3), 2f)])[0];
        Assert.Equal(new float[] { 2, 2, 0, 2, 2, 2, 2, 2, 2 }, g.ToFloatArray());
    }

    [Fact]
    public void RopePositionOffsetMatchesSlicingALongerSequence()
    {
        var x = Random(5, 1, 2, 6, 8);
        var full = Run1("Rope", Attrs.Of(("base", 10000.0)), x);
        var tail = Run1("Slice", Attrs.Of(("axis", 2), ("start", 4), ("end", 6)), x);
        var rt = Run1("Rope", Attrs.Of(("base", 10000.0), ("position_offset", 4)), tail);
        TestUtil.AssertClose(Run1("Slice", Attrs.Of(("axis", 2), ("start", 4), ("end", 6)), full), rt, 1e-6, "rope offset");
        var back = Run1("Rope", Attrs.Of(("base", 10000.0), ("inverse", true)), full);
        TestUtil.AssertClose(x, back, 1e-5, "rope inverse");
    }

    [Fact]
    public void SoftmaxRowsWithMaskedEntriesSumToOne()
    {
        var x = Run1("CausalMask", null, Random(6, 2, 5, 5));
        var y = Run1("Softmax", Attrs.Of(("axis", -1)), x).ToFloatArray();
        for (int r = 0; r < 10; r++)
        {
            Assert.Equal(1.0, y.Skip(r * 5).Take(5).Sum(), 5);
            for (int k = r % 5 + 1; k < 5; k++) Assert.Equal(0f, y[r * 5 + k]);
        }
    }

    [Fact]
    public void SoftmaxAndLogSoftmaxOnBf16AndLargeParallelInputs()
    {
        var x = Random(8, 300, 257);
        x.AsFloat()[0] = 80f;
        foreach (var axis in new[] { -1, 0 })
        {
            var y = Run1("Softmax", Attrs.Of(("axis", axis)), x);
            var ly = Run1("LogSoftmax", Attrs.Of(("axis", axis)), x);
            var yf = y.ToFloatArray(); var lf = ly.ToFloatArray();
            for (int i = 0; i < yf.Length; i += 97) Assert.Equal(Math.Log(yf[i]), lf[i], 1e-3);
        }
        var yb = Run1("Softmax", Attrs.Of(("axis", -1)), x.To(DType.BFloat16));
        Assert.Equal(DType.BFloat16, yb.DType);
    }

    [Fact]
    public void LayerNormAndRMSNormOptionalPiecesAndLargeRows()
    {
        var x = Random(9, 512, 160); // above the parallel threshold
        var w = Random(10, 160); var bias = Random(11, 160);
        var y = Run1("LayerNorm", Attrs.Of(("eps", 1e-5)), x, w, bias).ToFloatArray();
        var y0 = Run1("LayerNorm", Attrs.Of(("eps", 1e-5)), x).ToFloatArray();
        var xs = x.ToFloatArray(); var ws = w.ToFloatArray(); var bs = bias.ToFloatArray();
        for (int r = 0; r < 512; r += 51)
        {
            double m = 0, v = 0;
            for (int j = 0; j < 160; j++) m += xs[r * 160 + j];
            m /= 160;
            for (int j = 0; j < 160; j++) v += Math.Pow(xs[r * 160 + j] - m, 2);
            double rs = 1 / Math.Sqrt(v / 160 + 1e-5);
            for (int j = 0; j < 160; j += 13)
            {
                double n = (xs[r * 160 + j] - m) * rs;
                Assert.Equal(n, y0[r * 160 + j], 1e-4);
                Assert.Equal(n * ws[j] + bs[j], y[r * 160 + j], 1e-4);
            }
        }
        var g = Grads("LayerNorm", Attrs.Of(("eps", 1e-5)), [x], [0], [Random(12, 512, 160)])[0];
        Assert.Equal(x.Shape, g.Shape);
        var gr = Grads("RMSNorm", Attrs.Of(("eps", 1e-6)), [x, w], [0, 1], [Random(13, 512, 160)]);
        Assert.Equal(new Shape(160), gr[1].Shape);
    }

    // ---------- losses ----------

    [Fact]
    public void CrossEntropyAllRowsIgnoredIsZeroWithZeroGradient()
    {
        var logits = Random(14, 3, 4);
        var t = DenseTensor.FromArray(new long[] { -100, -100, -100 }, 3);
        Assert.Equal(0.0, Run1("CrossEntropy", null, logits, t).Item());
        var g = Grads("CrossEntropy", null, [logits, t], [0], [DenseTensor.Scalar(1f)])[0];
        Assert.All(g.ToFloatArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void CrossEntropyInt32TargetsAndRangeError()
    {
        var logits = Random(15, 2, 3);
        var l64 = Run1("CrossEntropy", null, logits, DenseTensor.FromArray(new long[] { 2, 0 }, 2)).Item();
        var l32 = Run1("CrossEntropy", null, logits, DenseTensor.FromArray(new int[] { 2, 0 }, 2)).Item();
        Assert.Equal(l64, l32);
        var e = Assert.ThrowsAny<ArgumentException>(() => Run1("CrossEntropy", null, logits, DenseTensor.FromArray(new long[] { 3, 0 }, 2)));
        Assert.Contains("target 3", e.Message);
    }

    [Fact]
    public void CrossEntropyLargeInputAgreesWithLogSoftmax()
    {
        var logits = Random(17, 300, 257); // above the parallel threshold
        var r = new Random(18);
        var t = DenseTensor.Zeros(new Shape(300), DType.Int64);
        for (int i = 0; i < 300; i++) t.AsInt64()[i] = i % 7 == 0 ? -100 : r.Next(257);
        var ls = Run1("LogSoftmax", Attrs.Of(("axis", -1)), logits).ToFloatArray();
        double sum = 0; int n = 0;
        for (int i = 0; i < 300; i++) if (t.AsInt64()[i] != -100) { sum -= ls[i * 257 + t.AsInt64()[i]]; n++; }
        Assert.Equal(sum / n, Run1("CrossEntropy", null, logits, t).Item(), 1e-5);
        var g = RunAll("CrossEntropyGrad", Attrs.Of(("ignore_index", -100)), logits, t, DenseTensor.Scalar(1f))[0].ToFloatArray();
        for (int i = 0; i < 300; i++)
            Assert.Equal(0.0, g.Skip(i * 257).Take(257).Sum(), 1e-5); // softmax - onehot sums to 0 per row
        Assert.All(g.Take(257), v => Assert.Equal(0f, v)); // row 0 is ignored
    }

    [Fact]
    public void MseLossGradientForBothInputs()
    {
        var p = DenseTensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        var t = DenseTensor.FromArray(new float[] { 0, 2, 5, 4 }, 2, 2);
        Assert.Equal((1 + 0 + 4 + 0) / 4.0, Run1("MseLoss", null, p, t).Item(), 6);
        var g = Grads("MseLoss", null, [p, t], [0, 1], [DenseTensor.Scalar(2f)]);
        Assert.Equal(new float[] { 1, 0, -2, 0 }, g[0].ToFloatArray());
        Assert.Equal(new float[] { -1, 0, 2, 0 }, g[1].ToFloatArray());
    }

    // ---------- composites and costs ----------

    [Fact]
    public void MultiHeadAttentionShapesRoundTrip()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 5, 12));
        var s = Composites.SplitHeads(b, x, 3);
        Assert.Equal(new Shape(2, 3, 5, 4), s.Shape);
        var o = Composites.MultiHeadAttention(b, x, x, x, 3, causal: true);
        Assert.Equal(x.Shape, o.Shape);
        b.Output("m", Composites.MergeHeads(b, s));
        var xs = Random(16, 2, 5, 12);
        var r = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor> { [x] = xs });
        Assert.Equal(xs.ToFloatArray(), r.Outputs["m"].ToFloatArray());
    }

    [Fact]
    public void CostsOfLayoutAndIndexingOps()
    {
        var f = TensorType.F32(4, 8);
        var tr = OpRegistry.Get("Transpose").Cost([f], [TensorType.F32(8, 4)], Attrs.Of(("perm", new[] { 1, 0 })));
        Assert.Equal(new OpCost(0, 128, 128), tr);
        var idx = new TensorType(DType.Int64, new Shape(3));
        var ga = OpRegistry.Get("Gather").Cost([f, idx], [TensorType.F32(3, 8)], Attrs.Of(("axis", 0)));
        Assert.Equal(new OpCost(0, 96 + 24, 96), ga);
        Assert.Equal(5 * 32, OpRegistry.Get("Softmax").Cost([f], [f], Attrs.Empty).Flops);
        Assert.True(OpRegistry.Get("LayerNorm").Cost([f, TensorType.F32(8), TensorType.F32(8)], [f], Attrs.Empty).Flops >= 5 * 32);
        Assert.True(OpRegistry.Get("CrossEntropy").Cost([f, new TensorType(DType.Int64, new Shape(4))], [TensorType.F32()], Attrs.Empty).Flops >= 4 * 32);
    }
    // ---------- finite differences (FiniteDifference from GradientPropertyTests) ----------

    private static int[] Shape(Random r, int minRank, int maxRank, int maxDim = 5)
    {
        var d = new int[r.Next(minRank, maxRank + 1)];
        for (int i = 0; i < d.Length; i++) d[i] = r.Next(1, maxDim + 1);
        return d;
    }

    private static DenseTensor Rand(Random r, int[] dims, double scale = 1)
    {
        var t = DenseTensor.Zeros(dims);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = (float)((r.NextDouble() * 2 - 1) * scale);
        return t;
    }

    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void SoftmaxFamilyMatchesFiniteDifferences(int seed)
    {
        var r = new Random(seed);
        var x = Rand(r, Shape(r, 1, 3), 2);
        int axis = r.Next(-x.Rank, x.Rank);
        FiniteDifference.CheckGradients((b, v) => b.Op("Softmax", Attrs.Of(("axis", axis)), v[0]), [x], what: $"Softmax {x.Shape} axis {axis}");
        FiniteDifference.CheckGradients((b, v) => b.Op("LogSoftmax", Attrs.Of(("axis", axis)), v[0]), [x], what: $"LogSoftmax {x.Shape} axis {axis}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void NormsMatchFiniteDifferences(int seed)
    {
        var r = new Random(seed);
        var dims = Shape(r, 1, 3);
        dims[^1] = r.Next(2, 7);
        int d = dims[^1];
        var x = Rand(r, dims, 2);
        var w = Rand(r, [d], 1.5);
        var bias = Rand(r, [d]);
        FiniteDifference.CheckGradients((b, v) => b.Op("LayerNorm", Attrs.Of(("eps", 1e-5)), v[0], v[1], v[2]), [x, w, bias], what: $"LayerNorm {x.Shape}");
        FiniteDifference.CheckGradients((b, v) => b.Op("LayerNorm", Attrs.Of(("eps", 1e-5)), v[0], v[1]), [x, w], what: $"LayerNorm no bias {x.Shape}");
        FiniteDifference.CheckGradients((b, v) => b.Op("RMSNorm", Attrs.Of(("eps", 1e-6)), v[0], v[1]), [x, w], what: $"RMSNorm {x.Shape}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RopeAndCausalMaskMatchFiniteDifferences(int seed)
    {
        var r = new Random(seed);
        var x = Rand(r, [r.Next(1, 3), r.Next(1, 3), r.Next(1, 6), 2 * r.Next(1, 4)]);
        FiniteDifference.CheckGradients((b, v) => b.Op("Rope", Attrs.Of(("base", 100.0), ("position_offset", seed)), v[0]), [x], what: $"Rope {x.Shape}");
        var s = Rand(r, [2, r.Next(1, 5), r.Next(1, 5)]);
        FiniteDifference.CheckGradients((b, v) => b.Op("CausalMask", Attrs.Of(("fill", -3.0), ("offset", seed - 2)), v[0]), [s], what: $"CausalMask {s.Shape}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void LossesMatchFiniteDifferences(int seed)
    {
        var r = new Random(seed);
        var rows = Shape(r, 1, 2);
        int c = r.Next(2, 6);
        var logits = Rand(r, [.. rows, c], 2);
        var t = DenseTensor.Zeros(new Shape(rows), DType.Int64);
        for (int i = 0; i < t.Length; i++) t.AsInt64()[i] = r.Next(4) == 0 ? -100 : r.Next(c);
        t.AsInt64()[0] = r.Next(c); // at least one kept row
        FiniteDifference.CheckGradients((b, v) => b.Op("CrossEntropy", v[0], v[1]), [logits, t], what: $"CrossEntropy {logits.Shape}");
        var p = Rand(r, Shape(r, 0, 3)); var q = Rand(r, [.. p.Shape]);
        FiniteDifference.CheckGradients((b, v) => b.Op("MseLoss", v[0], v[1]), [p, q], what: $"MseLoss {p.Shape}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void IndexingAndLayoutMatchFiniteDifferences(int seed)
    {
        var r = new Random(seed);
        var x = Rand(r, Shape(r, 1, 3));
        int axis = r.Next(x.Rank);
        int n = x.Shape[axis];
        var idx = DenseTensor.Zeros(new Shape(Shape(r, 0, 2, 4)), DType.Int64);
        for (int i = 0; i < idx.Length; i++) idx.AsInt64()[i] = r.Next(-n, n);
        FiniteDifference.CheckGradients((b, v) => b.Op("Gather", Attrs.Of(("axis", axis)), v[0], v[1]), [x, idx], what: $"Gather {x.Shape} axis {axis}");
        var w = Rand(r, [r.Next(2, 6), 3]);
        var ei = DenseTensor.Zeros(new Shape(Shape(r, 1, 2, 4)), DType.Int64);
        for (int i = 0; i < ei.Length; i++) ei.AsInt64()[i] = r.Next(w.Shape[0]);
        FiniteDifference.CheckGradients((b, v) => b.Op("Embedding", v[0], v[1]), [w, ei], what: $"Embedding {w.Shape}");
        int step = r.Next(1, 3) * (r.Next(3) == 0 ? -1 : 1);
        var sa = Attrs.Of(("axis", axis), ("start", r.Next(-n, n)), ("end", r.Next(-n - 1, n + 2)), ("step", step));
        FiniteDifference.CheckGradients((b, v) => b.Op("Slice", sa, v[0]), [x], what: $"Slice {x.Shape} {sa}");
        var y = Rand(r, [.. x.Shape.With(axis, r.Next(1, 4))]);
        FiniteDifference.CheckGradients((b, v) => b.Op("Concat", Attrs.Of(("axis", axis - x.Rank)), v[0], v[1], v[0]), [x, y], what: $"Concat {x.Shape} {y.Shape}");
        FiniteDifference.CheckGradients((b, v) => b.Transpose(v[0], Enumerable.Range(0, x.Rank).Reverse().ToArray()), [x], what: $"Transpose {x.Shape}");
    }

    [Fact]
    public void AttentionMatchesFiniteDifferences()
    {
        var r = new Random(7);
        var q = Rand(r, [1, 2, 4, 3]); var k = Rand(r, [1, 2, 4, 3]); var v = Rand(r, [1, 2, 4, 2]);
        FiniteDifference.CheckGradients((b, x) => Composites.ScaledDotProductAttention(b, x[0], x[1], x[2], causal: true), [q, k, v], what: "SDPA causal");
    }
}
