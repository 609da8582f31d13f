using System.CommandLine;
using System.Text.Json;
using WaferSharp.Cli;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;
using WaferSharp.Zoo;

namespace WaferSharp.Tests.Zoo;

/// <summary>Model zoo: exact parameter counts, shape-only builds of the largest models, tracing, small end-to-end runs.</summary>
public class ZooTests
{
    public static IEnumerable<object[]> AllNames() => ModelZoo.All.Select(c => new object[] { c.Name });

    [Theory]
    [InlineData("mlp", 67_121_152L)]
    [InlineData("gpt2-small", 124_439_808L)]
    [InlineData("gpt2-medium", 354_823_168L)]
    [InlineData("gpt2-large", 774_030_080L)]
    [InlineData("gpt2-xl", 1_557_611_200L)]
    [InlineData("llama2-7b", 6_738_415_616L)]
    [InlineData("llama2-13b", 13_015_864_320L)]
    [InlineData("llama2-70b", 68_976_648_192L)]
    [InlineData("llama3-8b", 8_030_261_248L)]
    [InlineData("llama3-70b", 70_553_706_496L)]
    [InlineData("llama3-405b", 405_853_388_800L)]
    // GPT-3: exact counts of our configs (paper figures are rounded; see the next test)
    [InlineData("gpt3-125m", 125_226_240L)]
    [InlineData("gpt3-350m", 355_871_744L)]
    [InlineData("gpt3-760m", 760_300_032L)]
    [InlineData("gpt3-1.3b", 1_315_723_264L)]
    [InlineData("gpt3-2.7b", 2_651_553_280L)]
    [InlineData("gpt3-6.7b", 6_658_404_352L)]
    [InlineData("gpt3-13b", 12_853_386_240L)]
    [InlineData("gpt3-175b", 174_604_259_328L)]
    public void ExactParameterCounts(string name, long expected)
    {
        var c = ModelZoo.Get(name);
        Assert.Equal(expected, ModelZoo.ParameterCount(c));
        Assert.Equal(expected, ModelZoo.Create(name).ParameterCount());
    }

    [Theory]
    [InlineData("gpt3-125m", 125e6)]
    [InlineData("gpt3-350m", 350e6)]
    [InlineData("gpt3-760m", 760e6)]
    [InlineData("gpt3-1.3b", 1.3e9)]
    [InlineData("gpt3-2.7b", 2.7e9)]
    [InlineData("gpt3-6.7b", 6.7e9)]
    [InlineData("gpt3-13b", 13.0e9)]
    [InlineData("gpt3-175b", 175.0e9)]
    public void Gpt3CountsAreWithin3PercentOfThePaper(string name, double paper)
    {
        var c = ModelZoo.Get(name);
        double n = ModelZoo.ParameterCount(c);
        Assert.True(Math.Abs(n / paper - 1) < 0.03, $"{name}: {n:N0} vs paper {paper:N0}");
        Assert.Equal(2048, c.SeqLen);
        Assert.Equal(50257, c.Vocab);
        Assert.True(c.TiedEmbeddings);
        Assert.Equal("learned", c.Positions);
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void AnalyticCountEqualsBuiltModelAndConfigIsConsistent(string name)
    {
        var c = ModelZoo.Get(name);
        var m = ModelZoo.Create(name);
        Assert.Equal(ModelZoo.ParameterCount(c), m.ParameterCount());
        Assert.All(m.Parameters(), p => Assert.True(p.IsMeta));
        if (c.IsLanguageModel)
        {
            Assert.Equal(0, c.Hidden % c.Heads);
            Assert.Equal(0, c.Heads % c.KvHeads);
        }
    }

    [Fact]
    public void PublishedShapes()
    {
        var l70 = ModelZoo.Get("llama2-70b");
        Assert.Equal((80, 8192, 64, 8, 28672, 32000, 4096), (l70.Layers, l70.Hidden, l70.Heads, l70.KvHeads, l70.FfnHidden, l70.Vocab, l70.SeqLen));
        var l405 = ModelZoo.Get("llama3-405b");
        Assert.Equal((126, 16384, 128, 8, 53248, 128256, 8192, 500000.0), (l405.Layers, l405.Hidden, l405.Heads, l405.KvHeads, l405.FfnHidden, l405.Vocab, l405.SeqLen, l405.RopeTheta));
        var g = ModelZoo.Get("gpt3-175b");
        Assert.Equal((96, 12288, 96), (g.Layers, g.Hidden, g.Heads));
        Assert.Equal(128, g.HeadDim);
        Assert.Equal((48, 1600, 25, 1024), (ModelZoo.Get("gpt2-xl").Layers, ModelZoo.Get("gpt2-xl").Hidden, ModelZoo.Get("gpt2-xl").Heads, ModelZoo.Get("gpt2-xl").SeqLen));
    }

    [Theory]
    [InlineData("gpt3-175b")]
    [InlineData("llama3-405b")]
    public void LargestModelsBuildShapeOnly(string name)
    {
        _ = ModelZoo.Create("gpt2-small"); // warm up reflection and JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        var m = ModelZoo.Create(name);
        long count = m.ParameterCount();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 50L << 20, $"{name}: building allocated {allocated:N0} bytes");
        Assert.All(m.Parameters(), p => Assert.True(p.IsMeta));
        Assert.Equal(ModelZoo.ParameterCount(ModelZoo.Get(name)), count);
        var e = Assert.Throws<InvalidOperationException>(() => m.Parameters()[0].Data);
        Assert.Contains("shape-only", e.Message);
    }

    [Fact]
    public void NamesAndLookup()
    {
        string[] expected =
        [
            "mlp", "gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl",
            "gpt3-125m", "gpt3-350m", "gpt3-760m", "gpt3-1.3b", "gpt3-2.7b", "gpt3-6.7b", "gpt3-13b", "gpt3-175b",
            "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "llama3-405b",
        ];
        Assert.Equal(expected, ModelZoo.All.Select(c => c.Name).ToArray());
        Assert.Equal(expected, ModelZoo.Names.ToArray());
        Assert.Same(ModelZoo.Get("gpt2-small"), ModelZoo.Get("GPT2-Small"));
    }

    [Fact]
    public void UnknownNameListsValidNamesOnOneLine()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => ModelZoo.Get("gpt5"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("gpt5", e.Message);
        foreach (var n in ModelZoo.Names) Assert.Contains(n, e.Message);
        Assert.Throws<KeyNotFoundException>(() => ModelZoo.Create("nope"));
    }

    [Fact]
    public void ParameterNamesFollowTheReferenceModels()
    {
        var gpt = (Gpt)ModelZoo.Create("gpt2-small");
        var names = gpt.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal("wte.weight", names[0]);
        Assert.Equal("wpe.weight", names[1]);
        Assert.Equal("h.0.ln_1.weight", names[2]);
        Assert.Contains("h.11.mlp.c_proj.bias", names);
        Assert.Equal(["ln_f.weight", "ln_f.bias"], names.TakeLast(2));
        Assert.DoesNotContain("lm_head.weight", names); // tied: counted once, under wte
        Assert.Same(gpt.wte.weight, gpt.lm_head.weight);
        Assert.Equal(12, gpt.h.Count);

        var llama = ModelZoo.Create("llama3-8b");
        var ln = llama.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal("embed_tokens.weight", ln[0]);
        Assert.Contains("layers.31.self_attn.k_proj.weight", ln);
        Assert.Contains("layers.0.post_attention_layernorm.weight", ln);
        Assert.Equal(["norm.weight", "lm_head.weight"], ln.TakeLast(2));
        Assert.Equal([1024, 4096], llama.NamedParameters().First(p => p.Name == "layers.0.self_attn.k_proj.weight").Parameter.Shape.ToArray());

        var mlp = ModelZoo.Create("mlp");
        Assert.IsType<ReferenceMlp>(mlp);
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"], mlp.NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal([8192, 4096], mlp.NamedParameters().First().Parameter.Shape.ToArray());
    }

    // ---------------- tracing ----------------

    [Fact]
    public void Gpt2SmallForwardFlopsAreAbout2NTokens()
    {
        var c = ModelZoo.Get("gpt2-small");
        var g = ZooTracing.TraceForward(ModelZoo.Create(c), c, 1, 1024);
        g.Validate();
        Assert.Equal(["tokens", "targets"], g.Inputs.Select(v => v.Name!).ToArray());
        Assert.All(g.Inputs, v => Assert.Equal(new TensorType(DType.Int64, new Shape(1, 1024)), v.Type));
        Assert.Equal(0, g.Output("loss").Rank);
        Assert.Equal(ModelZoo.ParameterCount(c), g.ParameterCount);
        Assert.Equal(c.Layers * 12 + 4, g.Parameters.Count);
        double flops = g.TotalCost().Flops;
        double estimate = 2.0 * ModelZoo.ParameterCount(c) * 1024;
        // Measured ratio is 1.153: the attention matmuls (q·kᵀ and p·v over the full T×T, 4·L·T·C per token) add
        // 4·12·1024·768 / (2·124.4M) = 15.2% at T = 1024, on top of 2·N for the weight matmuls.
        Assert.InRange(flops / estimate, 1.0, 1.17);
        double withAttention = estimate + 4.0 * c.Layers * 1024.0 * 1024 * c.Hidden;
        Assert.True(Math.Abs(flops / withAttention - 1) < 0.03, $"forward FLOPs {flops:E3} vs 2·N·tokens + attention {withAttention:E3}");

        // With a short context the attention term vanishes and the forward is 2·N·tokens within a few percent.
        var shortCtx = ZooTracing.TraceForward(ModelZoo.Create(c), c, 8, 128);
        double ratio = shortCtx.TotalCost().Flops / (2.0 * ModelZoo.ParameterCount(c) * 8 * 128);
        Assert.True(Math.Abs(ratio - 1) < 0.05, $"T=128: ratio {ratio:F3}");
    }

    [Theory]
    [InlineData("gpt3-175b", 1, 2048)]
    [InlineData("llama3-405b", 1, 512)]
    [InlineData("llama2-70b", 2, 128)]
    [InlineData("mlp", 8, 0)]
    public void LargeModelsTraceShapeOnly(string name, int batch, int seqLen)
    {
        var c = ModelZoo.Get(name);
        var m = ModelZoo.Create(c);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var g = ZooTracing.TraceForward(m, c, batch, seqLen);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 200L << 20, $"tracing {name} allocated {allocated:N0} bytes");
        Assert.All(m.Parameters(), p => Assert.True(p.IsMeta));
        Assert.Equal(ModelZoo.ParameterCount(c), g.ParameterCount);
        Assert.Equal(0, g.Output("loss").Rank);
        long tokens = (long)batch * Math.Max(seqLen, 1);
        double ratio = g.TotalCost().Flops / (2.0 * ModelZoo.ParameterCount(c) * tokens);
        Assert.InRange(ratio, 0.9, 1.4);
    }

    [Fact]
    public void TraceRejectsTooLongSequences()
    {
        var c = ModelZoo.Get("gpt2-small");
        Assert.Throws<ArgumentOutOfRangeException>(() => ZooTracing.TraceForward(ModelZoo.Create(c), c, 1, 1025));
    }

    // ---------------- small models end to end ----------------

    private static ModelConfig TinyGpt => new("tiny-gpt", "gpt2", 2, 32, 4, 4, 50, 16, 128, true, "layernorm", "gelu_tanh");
    private static ModelConfig TinyLlama => new("tiny-llama", "llama", 2, 32, 4, 2, 50, 16, 48, false, "rmsnorm", "silu", RopeTheta: 10000, Positions: "rope", Bias: false);

    [Theory]
    [InlineData("gpt")]
    [InlineData("llama")]
    public void TinyModelsRunEagerAndTracedAlike(string which)
    {
        var c = which == "gpt" ? TinyGpt : TinyLlama;
        Generator.Default.ManualSeed(5);
        var m = ModelZoo.Create(c, materialize: true);
        Assert.All(m.Parameters(), p => Assert.False(p.IsMeta));
        Assert.Equal(ModelZoo.ParameterCount(c), m.ParameterCount());
        var rng = new Random(9);
        var tok = Enumerable.Range(0, 2 * 7).Select(_ => (long)rng.Next(c.Vocab)).ToArray();
        var tgt = Enumerable.Range(0, 2 * 7).Select(_ => (long)rng.Next(c.Vocab)).ToArray();
        var tokens = Tensor.FromArray(tok, 2, 7);
        var targets = Tensor.FromArray(tgt, 2, 7);

        var logits = m.Forward(tokens);
        Assert.Equal([2, 7, c.Vocab], logits.Shape.ToArray());
        float loss = m.Forward(tokens, targets).Item();
        Assert.InRange(loss, Math.Log(c.Vocab) - 1.5, Math.Log(c.Vocab) + 1.5); // small init: near uniform

        var g = ZooTracing.TraceForward(m, c, 2, 7);
        var byName = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Data);
        var feeds = new Dictionary<Value, DenseTensor> { [g.Find("tokens")!] = tokens.Data, [g.Find("targets")!] = targets.Data };
        foreach (var p in g.Parameters) feeds[p] = byName[p.Name!];
        float traced = new CpuExecutor(g).Run(feeds).Outputs["loss"].ToFloatArray()[0];
        Assert.Equal(loss, traced, 4);

        var e = Assert.Throws<ShapeException>(() => m.Forward(Tensor.FromArray(new long[17], 1, 17)));
        Assert.Contains("context length", e.Message);
    }

    [Fact]
    public void MaterializeRefusesModelsLargerThanMemory()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ModelZoo.Create("llama3-405b", materialize: true));
        Assert.Contains("shape-only", e.Message);
    }
}

/// <summary>`wafer zoo` through the real command tree (console capture, so not run in parallel).</summary>
[CollectionDefinition("ZooCli", DisableParallelization = true)]
public class ZooCliCollection { }

[Collection("ZooCli")]
public class ZooCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => TestUtil.RunCli(args);

    [Theory]
    [InlineData("gpt2-small", 124_439_808L)]
    [InlineData("llama3-405b", 405_853_388_800L)]
    public void JsonForOneModel(string name, long parameters)
    {
        var (code, output, err) = Run("zoo", name, "--json");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        using var doc = JsonDocument.Parse(output);
        var r = doc.RootElement;
        Assert.Equal(name, r.GetProperty("name").GetString());
        Assert.Equal(parameters, r.GetProperty("parameters").GetInt64());
        var c = ModelZoo.Get(name);
        Assert.Equal(c.Layers, r.GetProperty("layers").GetInt32());
        Assert.Equal(c.Hidden, r.GetProperty("hidden").GetInt32());
        Assert.Equal(c.Heads, r.GetProperty("heads").GetInt32());
        Assert.Equal(c.KvHeads, r.GetProperty("kv_heads").GetInt32());
        Assert.Equal(c.Vocab, r.GetProperty("vocab").GetInt32());
        Assert.Equal(c.SeqLen, r.GetProperty("seq_len").GetInt32());
        Assert.Equal(c.FfnHidden, r.GetProperty("ffn_hidden").GetInt32());
        Assert.Equal(c.Family, r.GetProperty("family").GetString());
    }

    [Fact]
    public void JsonForAllModels()
    {
        var (code, output, _) = Run("zoo", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(ModelZoo.Names, doc.RootElement.EnumerateArray().Select(x => x.GetProperty("name").GetString()!).ToArray());
    }

    [Fact]
    public void TableListsEveryModelWithSeparators()
    {
        var (code, output, _) = Run("zoo");
        Assert.Equal(0, code);
        foreach (var n in ModelZoo.Names) Assert.Contains(n, output);
        Assert.Contains("124,439,808", output);
        Assert.Contains("405,853,388,800", output);
        Assert.Contains("kv heads", output);
    }

    [Fact]
    public void SummaryForOneModel()
    {
        var (code, output, _) = Run("zoo", "llama2-70b");
        Assert.Equal(0, code);
        Assert.Contains("68,976,648,192", output);
        Assert.Contains("grouped-query", output);
    }

    [Fact]
    public void UnknownModelIsOneLineErrorExit1()
    {
        var (code, output, err) = Run("zoo", "gpt5", "--json");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.StartsWith("error:", err);
        Assert.Contains("gpt2-small", err);
    }
}
