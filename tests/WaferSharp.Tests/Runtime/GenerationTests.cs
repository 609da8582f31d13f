using WaferSharp.Runtime;
using WaferSharp.Runtime.Generation;
using WaferSharp.Tensors;
using static WaferSharp.Tests.Runtime.RuntimeTestModels;

namespace WaferSharp.Tests.Runtime;

/// <summary>KV-cache generation on a wafer device gives the CPU reference's tokens.</summary>
public class GenerationTests
{
    private static long[][] Prompts(int b, int len, int vocab, ulong seed)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, b).Select(_ => Enumerable.Range(0, len).Select(_ => (long)g.NextInt(vocab)).ToArray()).ToArray();
    }

    public static TheoryData<string, double, int, double> Samplers => new()
    {
        { "gpt", 0, 0, 1.0 },
        { "gpt", 0.9, 8, 0.9 },
        { "gpt", 1.3, 0, 0.7 },
        { "llama", 0, 0, 1.0 },
        { "llama", 1.0, 5, 1.0 },
    };

    [Theory]
    [MemberData(nameof(Samplers))]
    public void WaferGenerationEqualsTheCpuReference(string family, double temperature, int topK, double topP)
    {
        var model = family == "gpt" ? Gpt(21) : Llama(22);
        var cfg = family == "gpt" ? TinyGpt : TinyLlama;
        var prompts = Prompts(3, 5, cfg.Vocab, 4);
        var sampling = new SamplingOptions(temperature, topK, topP, Seed: 99);
        var cpu = TextGenerator.Generate(model, cfg, prompts, 12, sampling, "cpu");
        var wafer = TextGenerator.Generate(model, cfg, prompts, 12, sampling, "wse3");
        Assert.Equal(cpu.Tokens, wafer.Tokens);
        Assert.Null(cpu.Timing);
        var t = wafer.Timing!;
        Assert.True(t.TimeToFirstTokenS > 0 && t.PerTokenLatencyS > 0);
        Assert.Equal(3 * t.TokensPerSecondPerSequence, t.TokensPerSecondTotal, 6);
        Assert.Equal(t.TimeToFirstTokenS + 11 * t.PerTokenLatencyS, t.TotalS, 9);
        Assert.All(wafer.NewTokens, s => Assert.All(s, tok => Assert.InRange(tok, 0, cfg.Vocab - 1)));
        if (temperature > 0) Assert.NotEqual(TextGenerator.Generate(model, cfg, prompts, 12, sampling with { Seed = 100 }, "cpu").Tokens, cpu.Tokens);
    }

    [Fact]
    public void KvCacheLogitsMatchTheFullForwardClosely()
    {
        var model = Gpt(31);
        var prompts = Prompts(2, 6, TinyGpt.Vocab, 5);
        var kv = new KvCacheDecoder(model);
        var full = new ReferenceDecoder(model);
        var a = kv.Prefill(prompts); var b = full.Prefill(prompts);
        for (int step = 0; step < 4; step++)
        {
            for (int s = 0; s < 2; s++)
                for (int v = 0; v < a[s].Length; v++) Assert.True(Math.Abs(a[s][v] - b[s][v]) <= 1e-4f + 1e-4f * Math.Abs(b[s][v]), $"step {step} seq {s} logit {v}: {a[s][v]} vs {b[s][v]}");
            var next = new long[] { step, step + 7 };
            a = kv.Step(next); b = full.Step(next);
        }
        Assert.Equal(6 + 4, kv.CachedTokens);
    }

    [Fact]
    public void BadGenerationRequestsAreClearErrors()
    {
        var model = Gpt(41);
        var p = Prompts(1, 4, TinyGpt.Vocab, 6);
        Assert.Contains("context", Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, TinyGpt, p, 100, new SamplingOptions())).Message);
        Assert.Contains("--top-p", Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, TinyGpt, p, 2, new SamplingOptions(1, 0, 1.5))).Message);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, TinyGpt, [[999L]], 2, new SamplingOptions())).Message);
    }

    [Fact]
    public void TimingIsTheCompilersInferenceMapping()
    {
        // llama2-70b's 140 GB of bf16 weights do not fit one wafer's SRAM; the compiler maps it (here: weights
        // streamed from memory, one token per full pass over the weights) and generation reports that mapping.
        var cfg = WaferSharp.Zoo.ModelZoo.Get("llama2-70b");
        var model = WaferSharp.Zoo.ModelZoo.Create(cfg);
        var t = TextGenerator.Time(model, cfg, WaferSharp.Hardware.WaferSpec.Wse3, 1, 128, 16, 1, "bf16");
        var prog = WaferSharp.Compiler.WaferCompiler.Compile(new WaferSharp.Compiler.ModelSource
        {
            BatchSize = 1, Trace = b => WaferSharp.Zoo.ZooTracing.TraceForward(model, cfg, b, 128), TraceDecode = b => WaferSharp.Zoo.ZooTracing.TraceForward(model, cfg, b, 1),
        }, new WaferSharp.Compiler.CompileOptions { Wafer = WaferSharp.Hardware.WaferSpec.Wse3, SeqLen = 128, SkipRouting = true }, inference: true);
        Assert.Equal(prog.Mode, t.Mode);
        Assert.Equal(prog.SystemsNeeded, t.SystemsNeeded);
        Assert.Equal(prog.StepTimeS, t.TimeToFirstTokenS);
        Assert.Equal(1 / prog.DecodeTokensPerS!.Value, t.PerTokenLatencyS, 12);
        // 140 GB streamed at the system's I/O rate bounds decode to about one token per second.
        Assert.InRange(t.TokensPerSecondPerSequence, 0.2, 5);
    }
}
