using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Frontend;

/// <summary>Transformer layers: naming, state dicts, modes, shape errors, attention semantics (incl. GQA).</summary>
public class LayerTests
{
    private static Tensor RandnSeeded(int seed, params int[] dims)
    {
        var t = DenseTensor.Zeros(dims);
        var rng = new Random(seed);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 2 - 1);
        return new Tensor(t);
    }

    // ---------------- naming ----------------

    [Fact]
    public void BlockParameterNamesFollowGpt2()
    {
        var b = new Block(16, 4);
        Assert.Equal(
            ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
             "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"],
            b.NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal([48, 16], b.attn.c_attn.weight.Shape.ToArray());
        Assert.Equal([64, 16], b.mlp.c_fc.weight.Shape.ToArray());
        Assert.Equal(12 * 16 * 16 + 13 * 16, b.ParameterCount());
        // children and paths
        Assert.Contains(b.NamedModules(), m => m.Name == "attn.c_attn" && m.Module is Linear);
        Assert.Equal("attn.c_proj", b.attn.c_proj.Path);
    }

    [Fact]
    public void MultiheadAttentionUsesTorchLayout()
    {
        var m = new MultiheadAttention(16, 4);
        var named = m.NamedParameters().ToList();
        Assert.Equal(["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"], named.Select(p => p.Name).ToArray());
        Assert.Equal([48, 16], named[0].Parameter.Shape.ToArray());
        Assert.Equal([48], named[1].Parameter.Shape.ToArray());
        Assert.All(m.in_proj_bias!.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(m.out_proj.bias!.ToArray(), v => Assert.Equal(0f, v));
        var noBias = new MultiheadAttention(16, 4, bias: false);
        Assert.Equal(["in_proj_weight", "out_proj.weight"], noBias.NamedParameters().Select(p => p.Name).ToArray());
    }

    [Fact]
    public void LlamaBlockNamesAndGqaShapes()
    {
        var b = new LlamaBlock(32, 8, 2, 48, 500000);
        var names = b.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Shape.ToArray());
        Assert.Equal(
            ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
             "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight"],
            names.Keys.ToArray());
        Assert.Equal([32, 32], names["self_attn.q_proj.weight"]);
        Assert.Equal([8, 32], names["self_attn.k_proj.weight"]); // 2 kv heads × head dim 4
        Assert.Equal([8, 32], names["self_attn.v_proj.weight"]);
        Assert.Equal([48, 32], names["mlp.gate_proj.weight"]);
        Assert.Equal([32, 48], names["mlp.down_proj.weight"]);
        Assert.All(b.NamedModules().Select(m => m.Module).OfType<Linear>(), l => Assert.Null(l.bias));
    }

    [Fact]
    public void SharedParametersAreCountedOnce()
    {
        var a = new Linear(4, 3);
        var s = new Sequential(a, a);
        Assert.Single(s.NamedParameters(), p => p.Name.EndsWith("weight"));
        Assert.Equal(15, s.ParameterCount());
    }

    // ---------------- state dicts ----------------

    [Fact]
    public void StateDictRoundTripReproducesOutputs()
    {
        var a = new Block(16, 4);
        var b = new Block(16, 4);
        var x = RandnSeeded(1, 2, 5, 16);
        Assert.NotEqual(a.Forward(x).ToArray(), b.Forward(x).ToArray());
        b.LoadStateDict(a.StateDict());
        Assert.Equal(a.Forward(x).ToArray(), b.Forward(x).ToArray());
        // loaded data is copied, not aliased
        a.attn.c_attn.weight.Data.AsFloat()[0] += 1f;
        Assert.NotEqual(a.attn.c_attn.weight.Data.AsFloat()[0], b.attn.c_attn.weight.Data.AsFloat()[0]);
    }

    [Fact]
    public void LoadStateDictStrictErrorsNameTheKeys()
    {
        var src = new Block(16, 4).StateDict();
        var target = new Block(16, 4);

        var missing = new Dictionary<string, DenseTensor>(src);
        missing.Remove("mlp.c_fc.bias");
        var e1 = Assert.Throws<ArgumentException>(() => target.LoadStateDict(missing));
        Assert.Contains("mlp.c_fc.bias", e1.Message);
        Assert.Contains("missing", e1.Message);

        var extra = new Dictionary<string, DenseTensor>(src) { ["attn.bogus"] = DenseTensor.Zeros(3) };
        var e2 = Assert.Throws<ArgumentException>(() => target.LoadStateDict(extra));
        Assert.Contains("attn.bogus", e2.Message);
        Assert.Contains("unexpected", e2.Message);

        var wrongShape = new Dictionary<string, DenseTensor>(src) { ["attn.c_attn.weight"] = DenseTensor.Zeros(16, 48) };
        var e3 = Assert.Throws<ArgumentException>(() => target.LoadStateDict(wrongShape));
        Assert.Contains("attn.c_attn.weight", e3.Message);

        // non-strict loads what is there and ignores the rest
        target.LoadStateDict(missing.Concat([new("attn.bogus", DenseTensor.Zeros(3))]).ToDictionary(), strict: false);
        Assert.Equal(src["ln_1.weight"].ToFloatArray(), target.ln_1.weight.ToArray());
    }

    [Fact]
    public void MhaLoadsTorchStyleStateDict()
    {
        var m = new MultiheadAttention(8, 2);
        var sd = new Dictionary<string, DenseTensor>
        {
            ["in_proj_weight"] = DenseTensor.Full(new Shape(24, 8), 0.5f),
            ["in_proj_bias"] = DenseTensor.Full(new Shape(24), 0.25f),
            ["out_proj.weight"] = DenseTensor.Full(new Shape(8, 8), 0.125f),
            ["out_proj.bias"] = DenseTensor.Full(new Shape(8), 1f),
        };
        m.LoadStateDict(sd);
        Assert.All(m.in_proj_weight.ToArray(), v => Assert.Equal(0.5f, v));
        Assert.All(m.out_proj.bias!.ToArray(), v => Assert.Equal(1f, v));
    }

    // ---------------- train / eval ----------------

    [Fact]
    public void TrainEvalPropagatesToEveryChild()
    {
        var b = new Block(16, 4, dropout: 0.5);
        Assert.All(b.NamedModules(), m => Assert.True(m.Module.IsTraining));
        Assert.Same(b, b.Eval());
        Assert.All(b.NamedModules(), m => Assert.False(m.Module.IsTraining, m.Name));
        b.Train();
        Assert.True(b.attn.attn_dropout.IsTraining);
        Assert.True(b.mlp.dropout.IsTraining);
    }

    [Fact]
    public void DropoutOnlyActsInTraining()
    {
        var b = new Block(16, 4, dropout: 0.5);
        var x = RandnSeeded(2, 2, 5, 16);
        b.Eval();
        var e1 = b.Forward(x).ToArray();
        var e2 = b.Forward(x).ToArray();
        Assert.Equal(e1, e2);
        var noDrop = new Block(16, 4, dropout: 0);
        noDrop.LoadStateDict(b.StateDict());
        Assert.Equal(e1, noDrop.Forward(x).ToArray()); // eval mode = no dropout at all
        b.Train();
        Assert.NotEqual(e1, b.Forward(x).ToArray());
    }

    [Fact]
    public void TracedDropoutFollowsTheMode()
    {
        var b = new Block(16, 4, dropout: 0.1);
        global::WaferSharp.Graph.Graph Trace()
        {
            using var tr = new Tracer(Tracer.NamesOf(b));
            var y = b.Forward(tr.Input("x", new TensorType(DType.Float32, new Shape(2, 5, 16))));
            var loss = F.Sum(y);
            Autodiff.Grad(tr.Builder, tr.ValueOf(loss), tr.ParameterValues.Values.ToList());
            return tr.Graph;
        }
        var train = Trace();
        Assert.Equal(3, train.Nodes.Count(n => n.Op.Name == "Dropout")); // attention probs, attention out, MLP out
        Assert.NotNull(train.Find("rng_seed"));
        b.Eval();
        var eval = Trace();
        Assert.DoesNotContain(eval.Nodes, n => n.Op.Name == "Dropout");
        Assert.Null(eval.Find("rng_seed"));
    }

    // ---------------- shape errors ----------------

    [Fact]
    public void ShapeErrorsNameTheLayerAndShapes()
    {
        var b = new Block(16, 4);
        _ = b.NamedModules().ToList(); // paths are set when the parent enumerates
        var e = Assert.Throws<ShapeException>(() => b.Forward(Tensor.Zeros(2, 5, 12)));
        Assert.Contains("Block", e.Message);
        Assert.Contains("12", e.Message);
        Assert.Contains("16", e.Message);

        var e2 = Assert.Throws<ShapeException>(() => b.attn.Forward(Tensor.Zeros(5, 16)));
        Assert.Contains("CausalSelfAttention", e2.Message);
        Assert.Contains("'attn'", e2.Message);
        Assert.Contains("[5, 16]", e2.Message.Replace("[5,16]", "[5, 16]"));

        var e3 = Assert.Throws<ShapeException>(() => b.mlp.Forward(Tensor.Zeros(2, 5, 8)));
        Assert.Contains("MLP", e3.Message);
        Assert.Contains("'mlp'", e3.Message);

        var mha = new MultiheadAttention(16, 4);
        var e4 = Assert.Throws<ShapeException>(() => mha.Forward(Tensor.Zeros(2, 3, 16), Tensor.Zeros(2, 4, 16), Tensor.Zeros(2, 5, 16)));
        Assert.Contains("MultiheadAttention", e4.Message);

        var la = new LlamaAttention(32, 4, 2);
        var e5 = Assert.Throws<ShapeException>(() => la.Forward(Tensor.Zeros(1, 3, 30)));
        Assert.Contains("LlamaAttention", e5.Message);
        Assert.Contains("30", e5.Message);
    }

    [Fact]
    public void ConstructorsCheckHeadsDivideDims()
    {
        var e1 = Assert.Throws<ArgumentException>(() => new CausalSelfAttention(10, 3));
        Assert.Contains("CausalSelfAttention", e1.Message);
        Assert.Contains("not divisible", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new MultiheadAttention(10, 4));
        Assert.Contains("MultiheadAttention", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => new LlamaAttention(64, 8, 3));
        Assert.Contains("num_kv_heads 3", e3.Message);
        Assert.Throws<ArgumentException>(() => new Block(30, 4));
        Assert.Throws<ArgumentException>(() => new MLP(8, 16, "swish"));
    }

    // ---------------- attention semantics ----------------

    [Fact]
    public void AttentionOutputShapes()
    {
        Assert.Equal([2, 5, 16], new CausalSelfAttention(16, 4).Forward(RandnSeeded(3, 2, 5, 16)).Shape.ToArray());
        Assert.Equal([2, 5, 16], new Block(16, 2).Forward(RandnSeeded(3, 2, 5, 16)).Shape.ToArray());
        var mha = new MultiheadAttention(16, 4);
        Assert.Equal([2, 3, 16], mha.Forward(RandnSeeded(4, 2, 3, 16), RandnSeeded(5, 2, 7, 16), RandnSeeded(6, 2, 7, 16)).Shape.ToArray());
        Assert.Equal([2, 6, 32], new LlamaAttention(32, 4, 2).Forward(RandnSeeded(7, 2, 6, 32)).Shape.ToArray());
        Assert.Equal([2, 6, 32], new LlamaBlock(32, 4, 1, 40).Forward(RandnSeeded(7, 2, 6, 32)).Shape.ToArray());
        Assert.Equal([2, 6, 32], new SwiGLU(32, 40).Forward(RandnSeeded(7, 2, 6, 32)).Shape.ToArray());
    }

    /// <summary>Changing token t must not change outputs at positions &lt; t.</summary>
    [Theory]
    [InlineData("gpt")]
    [InlineData("llama")]
    [InlineData("mha")]
    public void CausalLayersIgnoreTheFuture(string kind)
    {
        var mha = new MultiheadAttention(16, 4);
        Func<Tensor, Tensor> layer = kind switch
        {
            "gpt" => new CausalSelfAttention(16, 4).Forward,
            "llama" => new LlamaAttention(16, 4, 2).Forward,
            _ => x => mha.Forward(x, x, x, isCausal: true),
        };
        var x1 = RandnSeeded(8, 1, 6, 16);
        var d2 = x1.Data.Clone();
        var s = d2.AsFloat();
        for (int i = 4 * 16; i < 6 * 16; i++) s[i] += 1f; // perturb positions 4 and 5
        var y1 = layer(x1).ToArray();
        var y2 = layer(new Tensor(d2)).ToArray();
        for (int i = 0; i < 4 * 16; i++) Assert.Equal(y1[i], y2[i], 5);
        Assert.Contains(Enumerable.Range(4 * 16, 32), i => Math.Abs(y1[i] - y2[i]) > 1e-4);
    }

    /// <summary>MultiheadAttention against a plain-loop reference (torch semantics: q/k/v rows of in_proj, scale 1/√D).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MultiheadAttentionMatchesReference(bool causal)
    {
        const int B = 2, L = 3, S = 4, E = 8, H = 2, D = E / H;
        var m = new MultiheadAttention(E, H);
        m.in_proj_bias!.SetData(RandnSeeded(20, 3 * E).Data);
        var q = RandnSeeded(21, B, L, E); var k = RandnSeeded(22, B, S, E); var v = RandnSeeded(23, B, S, E);
        var got = m.Forward(q, k, v, causal).ToArray();

        float[] W = m.in_proj_weight.ToArray(), bi = m.in_proj_bias.ToArray(), Wo = m.out_proj.weight.ToArray(), bo = m.out_proj.bias!.ToArray();
        float[] qa = q.ToArray(), ka = k.ToArray(), va = v.ToArray();
        double Proj(float[] x, int row, int which, int o) { double acc = bi[which * E + o]; for (int i = 0; i < E; i++) acc += x[row * E + i] * W[(which * E + o) * E + i]; return acc; }
        for (int b = 0; b < B; b++)
            for (int l = 0; l < L; l++)
            {
                var ctx = new double[E];
                for (int h = 0; h < H; h++)
                {
                    var scores = new double[S];
                    for (int s = 0; s < S; s++)
                    {
                        double dot = 0;
                        for (int d = 0; d < D; d++) dot += Proj(qa, b * L + l, 0, h * D + d) * Proj(ka, b * S + s, 1, h * D + d);
                        scores[s] = causal && s > l ? double.NegativeInfinity : dot / Math.Sqrt(D);
                    }
                    double mx = scores.Max(), sum = scores.Sum(sc => Math.Exp(sc - mx));
                    for (int s = 0; s < S; s++)
                    {
                        double p = Math.Exp(scores[s] - mx) / sum;
                        for (int d = 0; d < D; d++) ctx[h * D + d] += p * Proj(va, b * S + s, 2, h * D + d);
                    }
                }
                for (int o = 0; o < E; o++)
                {
                    double y = bo[o];
                    for (int i = 0; i < E; i++) y += ctx[i] * Wo[o * E + i];
                    Assert.Equal(y, got[(b * L + l) * E + o], 4);
                }
            }
    }

    /// <summary>GQA equals full multi-head attention whose k/v heads are the kv heads repeated (head h uses kv head h / rep).</summary>
    [Fact]
    public void GroupedQueryAttentionEqualsRepeatedKvHeads()
    {
        const int dim = 32, H = 4, KV = 2, D = dim / H, rep = H / KV;
        var gqa = new LlamaAttention(dim, H, KV, 10000);
        var mha = new LlamaAttention(dim, H, H, 10000);
        DenseTensor Repeat(DenseTensor w)
        {
            var src = w.ToFloatArray();
            var dst = new float[H * D * dim];
            for (int h = 0; h < H; h++)
                Array.Copy(src, (h / rep) * D * dim, dst, h * D * dim, D * dim);
            return DenseTensor.FromArray(dst, H * D, dim);
        }
        mha.LoadStateDict(new Dictionary<string, DenseTensor>
        {
            ["q_proj.weight"] = gqa.q_proj.weight.Data,
            ["k_proj.weight"] = Repeat(gqa.k_proj.weight.Data),
            ["v_proj.weight"] = Repeat(gqa.v_proj.weight.Data),
            ["o_proj.weight"] = gqa.o_proj.weight.Data,
        });
        var x = RandnSeeded(30, 2, 5, dim);
        var a = gqa.Forward(x).ToArray();
        var b = mha.Forward(x).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 5);

        // RepeatKv itself: [B, KV, T, D] → [B, H, T, D] with head h = kv head h / rep
        var kv = RandnSeeded(31, 1, KV, 3, D);
        var r = LlamaAttention.RepeatKv(kv, rep).ToArray();
        var src = kv.ToArray();
        for (int h = 0; h < H; h++)
            for (int i = 0; i < 3 * D; i++) Assert.Equal(src[(h / rep) * 3 * D + i], r[h * 3 * D + i]);
    }

    /// <summary>The same module traced and run by the CPU executor gives the eager result.</summary>
    [Theory]
    [InlineData("block")]
    [InlineData("llama")]
    [InlineData("mha")]
    public void TracedMatchesEager(string kind)
    {
        Module m = kind switch { "block" => new Block(16, 4), "llama" => new LlamaBlock(16, 4, 2, 24), _ => new MultiheadAttention(16, 4) };
        var x = RandnSeeded(40, 2, 5, 16);
        var eager = m.Forward(x);
        global::WaferSharp.Graph.Graph g;
        using (var tr = new Tracer(Tracer.NamesOf(m)))
        {
            var xi = tr.Input("x", new TensorType(DType.Float32, x.Shape));
            tr.Builder.Output("y", tr.ValueOf(m.Forward(xi)));
            g = tr.Graph;
        }
        g.Validate();
        Assert.Equal(m.ParameterCount(), g.ParameterCount);
        var byName = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Data);
        var feeds = new Dictionary<Value, DenseTensor> { [g.Inputs[0]] = x.Data };
        foreach (var p in g.Parameters) feeds[p] = byName[p.Name!];
        var y = new CpuExecutor(g).Run(feeds).Outputs["y"];
        TestUtil.AssertClose(eager.Data, y, 1e-5, kind);
    }

    [Fact]
    public void ShapeOnlyLayersRefuseEagerButTrace()
    {
        Block b;
        using (Init.Meta()) b = new Block(64, 4);
        Assert.All(b.Parameters(), p => Assert.True(p.IsMeta));
        Assert.Throws<InvalidOperationException>(() => b.Forward(Tensor.Zeros(1, 2, 64)));
        using var tr = new Tracer(Tracer.NamesOf(b));
        var y = b.Forward(tr.Input("x", new TensorType(DType.Float32, new Shape(1, 8, 64))));
        Assert.Equal([1, 8, 64], y.Shape.ToArray());
        Assert.True(y.IsSymbolic);
    }
}
