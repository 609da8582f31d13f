using FsCheck.Xunit;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Graph;

/// <summary>
/// Checks <see cref="Autodiff.Grad"/> against central finite differences. Reusable for any op: build the
/// function under test from graph inputs, pass input data, and the helper compares d(Σ w·y)/dx for fixed random
/// weights w (so every output element matters and no symmetry hides an error).
/// </summary>
public static class FiniteDifference
{
    /// <summary>
    /// Builds <c>y = build(b, inputs)</c> (any shape), takes analytic gradients of L = Σ w·y with autodiff (w a
    /// fixed random tensor, passed as the seed), and compares each against (L(x+eps) - L(x-eps)) / 2eps with L
    /// accumulated in double on the host from float32 forward runs. Throws (xunit assertion) naming the input,
    /// the flat element index and both values on the worst mismatch beyond <c>atol + rtol·|numeric|</c>.
    /// </summary>
    /// <param name="buildScalarLoss">Builds the function under test; its result may have any shape.</param>
    /// <param name="inputs">Input data, one per graph input (created in order as "x0", "x1", …).</param>
    /// <param name="wrt">Indexes of the inputs to check (default: every floating input).</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="what">Label for failure messages.</param>
    /// <param name="seed">Seed of the weights w.</param>
    public static void CheckGradients(Func<GraphBuilder, Value[], Value> buildScalarLoss, DenseTensor[] inputs,
        int[]? wrt = null, double eps = 3e-3, double rtol = 2e-2, double atol = 2e-3, string what = "", int seed = 12345)
    {
        wrt ??= Enumerable.Range(0, inputs.Length).Where(i => inputs[i].DType.IsFloating()).ToArray();

        // forward-only graph for the finite differences
        var fb = new GraphBuilder();
        var fins = inputs.Select((t, i) => fb.Input("x" + i, new TensorType(t.DType, t.Shape))).ToArray();
        var fy = buildScalarLoss(fb, fins);
        fb.Output("y", fy);
        var fwd = new CpuExecutor(fb.Graph);

        var w = DenseTensor.Zeros(fy.Shape);
        var rng = new Random(seed);
        var ws = (float[])w.Storage;
        for (int i = 0; i < ws.Length; i++) ws[i] = (float)(rng.NextDouble() * 2 - 1);

        // analytic gradients: autodiff with seed w, i.e. of Σ w·y
        var gb = new GraphBuilder();
        var gins = inputs.Select((t, i) => gb.Input("x" + i, new TensorType(t.DType, t.Shape))).ToArray();
        var gy = buildScalarLoss(gb, gins);
        var wv = gb.Constant(fy.DType == DType.Float32 ? w : w.To(fy.DType));
        var grads = Autodiff.Grad(gb, gy, wrt.Select(i => gins[i]).ToArray(), wv);
        for (int k = 0; k < grads.Length; k++) gb.Output("g" + k, grads[k]);
        gb.Graph.Validate();
        var analytic = new CpuExecutor(gb.Graph).Run(gins.Select((v, i) => (v, inputs[i])).ToDictionary(p => p.v, p => p.Item2)).Outputs;

        var feeds = fins.Select((v, i) => (v, t: inputs[i].Clone())).ToDictionary(p => p.v, p => p.t);
        double Loss()
        {
            var y = fwd.Run(feeds).Outputs["y"].ToFloatArray();
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += (double)ws[i] * y[i];
            return s;
        }

        for (int k = 0; k < wrt.Length; k++)
        {
            int xi = wrt[k];
            var x = feeds[fins[xi]];
            var got = analytic["g" + k];
            Assert.True(got.Shape == x.Shape, $"{what}: gradient of x{xi} has shape {got.Shape}, input has {x.Shape}");
            var ga = got.ToFloatArray();
            double worst = 0; int wi = -1; double wNum = 0;
            for (int e = 0; e < x.Length; e++)
            {
                double orig = x.GetDouble(e);
                x.SetDouble(e, orig + eps);
                double lp = Loss();
                x.SetDouble(e, orig - eps);
                double lm = Loss();
                x.SetDouble(e, orig);
                double num = (lp - lm) / (2 * eps);
                double excess = Math.Abs(ga[e] - num) - (atol + rtol * Math.Abs(num));
                if (double.IsNaN(ga[e]) || excess > worst) { worst = double.IsNaN(ga[e]) ? double.PositiveInfinity : excess; wi = e; wNum = num; }
            }
            Assert.True(wi < 0, wi < 0 ? "" :
                $"{what}: d/dx{xi} (shape {x.Shape}) element {wi}: autodiff {ga[wi]:G6}, finite difference {wNum:G6} (inputs: {string.Join(", ", inputs.Select(t => t.DType.ShortName() + t.Shape))})");
        }
    }
}

/// <summary>Autodiff gradients of every elementwise, reduction and contraction op against finite differences.</summary>
public class GradientPropertyTests
{
    private const int Cases = 30;

    /// <summary>Runs <paramref name="body"/> for <see cref="Cases"/> FsCheck-chosen seeds (a failure reports its seed).</summary>
    private static void ForAllSeeds(Action<int> body) =>
        FsCheck.Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Cases),
            FsCheck.Fluent.Prop.ForAll(FsCheck.Fluent.Arb.From(FsCheck.Fluent.Gen.Choose(0, int.MaxValue - 1)), body));

    // ---------- generators (seeded from an FsCheck-chosen int, so failures print a reproducible seed) ----------

    private static int[] RandomShape(Random r, int maxRank = 4)
    {
        int rank = r.Next(0, maxRank + 1);
        var d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = r.Next(1, rank >= 4 ? 3 : 4);
        return d;
    }

    /// <summary>A shape that broadcasts to <paramref name="outShape"/>: leading dims dropped, others set to 1 at random.</summary>
    private static int[] BroadcastableTo(Random r, int[] outShape)
    {
        int rank = r.Next(0, outShape.Length + 1);
        var d = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int o = outShape[outShape.Length - rank + i];
            d[i] = r.Next(3) == 0 ? 1 : o;
        }
        return d;
    }

    private static DenseTensor Fill(Random r, int[] shape, Func<Random, double> sample)
    {
        var t = DenseTensor.Zeros(shape);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = (float)sample(r);
        return t;
    }

    private static double Uniform(Random r, double lo, double hi) => lo + (hi - lo) * r.NextDouble();
    private static double AwayFromZero(Random r, double lo, double hi) => (r.Next(2) == 0 ? -1 : 1) * Uniform(r, lo, hi);

    /// <summary>Distinct values at least 0.1 apart (a shuffled grid plus small jitter), so max/argmax never flips within eps.</summary>
    private static DenseTensor Distinct(Random r, int[] shape)
    {
        var t = DenseTensor.Zeros(shape);
        var s = t.AsFloat();
        var perm = Enumerable.Range(0, s.Length).OrderBy(_ => r.Next()).ToArray();
        for (int i = 0; i < s.Length; i++) s[i] = (float)(0.1 * perm[i] - 0.05 * s.Length + Uniform(r, -0.01, 0.01));
        return t;
    }

    // ---------- the checker itself ----------

    /// <summary>x² with a deliberately wrong gradient (g·x instead of 2·g·x), to prove the checker catches errors.</summary>
    private sealed class BrokenSquare : OpDef
    {
        public override string Name => "TestBrokenSquare";
        public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs) => [inputs[0]];
        public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
        {
            var x = inputs[0].AsFloat();
            var o = DenseTensor.Zeros(outputTypes[0].Shape);
            var d = o.AsFloat();
            for (int i = 0; i < d.Length; i++) d[i] = x[i] * x[i];
            return [o];
        }
        public override Value?[] Gradient(GradContext c) => [c.B.Mul(c.GradOutput, c.X(0))];
    }

    private static readonly Lazy<bool> BrokenRegistered = new(() => { OpRegistry.Register(new BrokenSquare()); return true; });

    [Fact]
    public void CheckerDetectsAWrongGradient()
    {
        _ = BrokenRegistered.Value;
        var x = DenseTensor.FromArray([0.5f, -1f, 2f], 3);
        var e = Assert.ThrowsAny<Exception>(() => FiniteDifference.CheckGradients((b, v) => b.Op("TestBrokenSquare", v[0]), [x], what: "broken"));
        Assert.Contains("broken", e.Message);
        // and accepts the right one
        FiniteDifference.CheckGradients((b, v) => b.Mul(v[0], v[0]), [x], what: "square");
    }

    // ---------- unary ----------

    public static TheoryData<string, double, double, bool> UnaryOps => new()
    {
        // op, lo, hi, symmetric-away-from-zero
        { "Neg", -2, 2, false }, { "Exp", -2, 2, false }, { "Log", 0.5, 3, false }, { "Sqrt", 0.5, 3, false },
        { "Rsqrt", 0.5, 3, false }, { "Tanh", -3, 3, false }, { "Erf", -3, 3, false }, { "Sigmoid", -4, 4, false },
        { "Silu", -4, 4, false }, { "Reciprocal", 0.5, 2, true }, { "Abs", 0.1, 2, true }, { "Relu", 0.1, 2, true },
        { "Gelu", -4, 4, false }, { "GeluTanh", -4, 4, false },
    };

    private static Value ApplyUnary(GraphBuilder b, string op, Value x) => op switch
    {
        "Gelu" => b.Op("Gelu", Attrs.Of(("approximate", "none")), x),
        "GeluTanh" => b.Op("Gelu", Attrs.Of(("approximate", "tanh")), x),
        _ => b.Op(op, x),
    };

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void UnaryOpGradients(string op, double lo, double hi, bool awayFromZero)
    {
        ForAllSeeds(seed =>
        {
            var r = new Random(seed);
            var x = Fill(r, RandomShape(r), q => awayFromZero ? AwayFromZero(q, lo, hi) : Uniform(q, lo, hi));
            FiniteDifference.CheckGradients((b, v) => ApplyUnary(b, op, v[0]), [x], what: $"{op} seed {seed}");
        });
    }

    // ---------- binary (with broadcasting) ----------

    public static TheoryData<string> BinaryOps => new() { "Add", "Sub", "Mul", "Div", "Pow", "Minimum", "Maximum" };

    [Theory]
    [MemberData(nameof(BinaryOps))]
    public void BinaryOpGradients(string op)
    {
        ForAllSeeds(seed =>
        {
            var r = new Random(seed);
            var outShape = RandomShape(r);
            int[] sa = BroadcastableTo(r, outShape), sb = BroadcastableTo(r, outShape);
            if (r.Next(2) == 0) (sa, sb) = (sb, sa);
            DenseTensor a, b;
            switch (op)
            {
                case "Div": a = Fill(r, sa, q => Uniform(q, -2, 2)); b = Fill(r, sb, q => AwayFromZero(q, 0.5, 2)); break;
                case "Pow": a = Fill(r, sa, q => Uniform(q, 0.5, 2)); b = Fill(r, sb, q => Uniform(q, -2, 2)); break;
                case "Minimum" or "Maximum":
                    // a on an odd grid, b on the offset grid: |a - b| ≥ 0.1 everywhere, so no tie or flip within eps
                    a = Fill(r, sa, q => 0.2 * q.Next(-8, 9) + 0.05); b = Fill(r, sb, q => 0.2 * q.Next(-8, 9) - 0.05); break;
                default: a = Fill(r, sa, q => Uniform(q, -2, 2)); b = Fill(r, sb, q => Uniform(q, -2, 2)); break;
            }
            FiniteDifference.CheckGradients((g, v) => g.Op(op, v[0], v[1]), [a, b], what: $"{op} {a.Shape}·{b.Shape} seed {seed}");
        });
    }

    // ---------- Where ----------

    [Property(MaxTest = Cases)]
    public void WhereGradients(int seed)
    {
        var r = new Random(seed);
        var outShape = RandomShape(r);
        var c = DenseTensor.Zeros(new Shape(BroadcastableTo(r, outShape)), DType.Bool);
        var cs = c.AsBool();
        for (int i = 0; i < cs.Length; i++) cs[i] = r.Next(2) == 0;
        var a = Fill(r, BroadcastableTo(r, outShape), q => Uniform(q, -2, 2));
        var b = Fill(r, BroadcastableTo(r, outShape), q => Uniform(q, -2, 2));
        FiniteDifference.CheckGradients((g, v) => g.Op("Where", v[0], v[1], v[2]), [c, a, b], wrt: [1, 2],
            what: $"Where {c.Shape},{a.Shape},{b.Shape} seed {seed}");
    }

    // ---------- reductions ----------

    public static TheoryData<string> ReduceOps => new() { "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin" };

    [Theory]
    [MemberData(nameof(ReduceOps))]
    public void ReductionGradients(string op)
    {
        ForAllSeeds(seed =>
        {
            var r = new Random(seed);
            var shape = RandomShape(r);
            if (shape.Length == 0) shape = [3];
            var axes = Enumerable.Range(0, shape.Length).Where(_ => r.Next(2) == 0)
                .Select(a => r.Next(2) == 0 ? a : a - shape.Length).ToArray();
            bool keep = r.Next(2) == 0;
            var x = op is "ReduceMax" or "ReduceMin" ? Distinct(r, shape) : Fill(r, shape, q => Uniform(q, -2, 2));
            var attrs = Attrs.Of(("axes", axes), ("keepdims", keep));
            FiniteDifference.CheckGradients((g, v) => g.Op(op, attrs, v[0]), [x],
                what: $"{op} {x.Shape} axes [{string.Join(",", axes)}] keepdims {keep} seed {seed}");
        });
    }

    // ---------- contractions ----------

    [Property(MaxTest = Cases)]
    public void MatMulGradients(int seed)
    {
        var r = new Random(seed);
        int m = r.Next(1, 4), n = r.Next(1, 4), k = r.Next(1, 4);
        var batch = RandomShape(r, 2);
        bool vecA = r.Next(6) == 0, vecB = r.Next(6) == 0;
        bool ta = !vecA && r.Next(2) == 0, tb = !vecB && r.Next(2) == 0;
        int[] sa = vecA ? [k] : [.. BroadcastableTo(r, batch), ta ? k : m, ta ? m : k];
        int[] sb = vecB ? [k] : [.. BroadcastableTo(r, batch), tb ? n : k, tb ? k : n];
        var a = Fill(r, sa, q => Uniform(q, -1, 1));
        var b = Fill(r, sb, q => Uniform(q, -1, 1));
        var attrs = Attrs.Of(("trans_a", ta), ("trans_b", tb));
        FiniteDifference.CheckGradients((g, v) => g.Op("MatMul", attrs, v[0], v[1]), [a, b],
            what: $"MatMul {a.Shape}{(ta ? "ᵀ" : "")} @ {b.Shape}{(tb ? "ᵀ" : "")} seed {seed}");
    }

    [Property(MaxTest = Cases)]
    public void LinearGradients(int seed, bool bias)
    {
        var r = new Random(seed);
        int inF = r.Next(1, 5), outF = r.Next(1, 5);
        int[] xs = [.. RandomShape(r, 2), inF];
        var x = Fill(r, xs, q => Uniform(q, -1, 1));
        var w = Fill(r, [outF, inF], q => Uniform(q, -1, 1));
        DenseTensor[] ins = bias ? [x, w, Fill(r, [outF], q => Uniform(q, -1, 1))] : [x, w];
        FiniteDifference.CheckGradients((g, v) => g.Op("Linear", v), ins, what: $"Linear {x.Shape}·{w.Shape} bias {bias} seed {seed}");
    }
}
