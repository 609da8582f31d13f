using WaferSharp.Compiler;
using WaferSharp.Hardware;
using WaferSharp.Tensors;
using WaferSharp.Zoo;

namespace WaferSharp.Runtime.Generation;

/// <summary>Device timing of a generation, from the compiler's inference mapping.</summary>
/// <param name="Mode">Execution mode of the mapping.</param>
/// <param name="SystemsNeeded">Systems the weights are split across (models larger than one wafer's SRAM).</param>
/// <param name="TimeToFirstTokenS">Prefill of the prompts: the time until the first new token.</param>
/// <param name="PerTokenLatencyS">Time between two generated tokens of one sequence.</param>
/// <param name="TokensPerSecondPerSequence">Decode rate of one sequence.</param>
/// <param name="TokensPerSecondTotal">Decode rate over the batch.</param>
/// <param name="TotalS">Prefill plus every decode step.</param>
public sealed record GenerationTiming(string Mode, int SystemsNeeded, double TimeToFirstTokenS, double PerTokenLatencyS,
    double TokensPerSecondPerSequence, double TokensPerSecondTotal, double TotalS);

/// <summary>Generated tokens and, on a wafer device, their timing.</summary>
/// <param name="Tokens">Per sequence: the prompt followed by the new tokens.</param>
/// <param name="NewTokens">Per sequence: only the new tokens.</param>
/// <param name="Timing">Device timing (null on <c>cpu</c>).</param>
/// <param name="HostSeconds">Host wall time of the generation.</param>
public sealed record GenerationResult(long[][] Tokens, long[][] NewTokens, GenerationTiming? Timing, double HostSeconds);

/// <summary>
/// Autoregressive generation for the zoo's GPT-2/GPT-3 and Llama models. On <c>cpu</c> it uses the cache-free
/// <see cref="ReferenceDecoder"/>; on a wafer device the <see cref="KvCacheDecoder"/> (the on-wafer KV cache) for
/// numerics and the compiler's inference mapping (prefill and decode cost, systems needed) for time.
/// </summary>
public static class TextGenerator
{
    /// <summary>Generates <paramref name="maxNewTokens"/> tokens after each prompt.</summary>
    public static GenerationResult Generate(Module model, ModelConfig cfg, long[][] prompts, int maxNewTokens, SamplingOptions sampling,
        string device = "cpu", int systems = 1, string precision = "bf16")
    {
        ArgumentNullException.ThrowIfNull(model);
        sampling.Validate();
        if (prompts.Length == 0 || prompts[0].Length == 0) throw new ArgumentException("the prompt is empty; give at least one token");
        int len = prompts[0].Length;
        if (prompts.Any(p => p.Length != len)) throw new ArgumentException("every prompt of a batch must have the same length");
        if (maxNewTokens < 1) throw new ArgumentException($"--max-new-tokens must be at least 1, got {maxNewTokens}");
        if (len + maxNewTokens > cfg.SeqLen)
            throw new ArgumentException($"prompt ({len}) + new tokens ({maxNewTokens}) exceed {cfg.Name}'s context of {cfg.SeqLen}; shorten one of them");
        foreach (var p in prompts)
            foreach (var tok in p)
                if (tok < 0 || tok >= cfg.Vocab) throw new ArgumentException($"prompt token {tok} is outside {cfg.Name}'s vocabulary 0..{cfg.Vocab - 1}");
        bool wafer = device != "cpu";
        GenerationTiming? timing = null;
        if (wafer)
        {
            var spec = WaferSpec.Parse(device);
            timing = Time(model, cfg, spec, prompts.Length, len, maxNewTokens, systems, precision);
        }
        var sw = System.Diagnostics.Stopwatch.StartNew();
        model.Eval();
        ITokenDecoder dec = wafer ? new KvCacheDecoder(model) : new ReferenceDecoder(model);
        var rngs = Enumerable.Range(0, prompts.Length).Select(i => new Generator(Generator.Mix(sampling.Seed + (ulong)i))).ToArray();
        var outs = prompts.Select(_ => new long[maxNewTokens]).ToArray();
        var logits = dec.Prefill(prompts);
        var next = new long[prompts.Length];
        for (int t = 0; t < maxNewTokens; t++)
        {
            for (int b = 0; b < prompts.Length; b++) outs[b][t] = next[b] = Sampler.Next(logits[b], sampling, rngs[b]);
            if (t + 1 < maxNewTokens) logits = dec.Step(next);
        }
        sw.Stop();
        var all = prompts.Select((p, b) => p.Concat(outs[b]).ToArray()).ToArray();
        return new GenerationResult(all, outs, timing, sw.Elapsed.TotalSeconds);
    }

    /// <summary>The compiler's inference mapping: prefill at the prompt length, decode with the KV cache.</summary>
    public static GenerationTiming Time(Module model, ModelConfig cfg, WaferSpec spec, int batch, int promptLen, int maxNewTokens, int systems, string precision)
    {
        var prec = WaferRunner.ParsePrecision(precision) switch { DType.BFloat16 => Precision.Bf16, DType.Float16 => Precision.Fp16, _ => Precision.Fp32 };
        var src = new ModelSource
        {
            BatchSize = batch,
            Trace = b => ZooTracing.TraceForward(model, cfg, b, promptLen),
            TraceDecode = b => ZooTracing.TraceForward(model, cfg, b, 1),
        };
        var prog = WaferCompiler.Compile(src, new CompileOptions { Wafer = spec, Systems = systems, Precision = prec, SeqLen = promptLen, SkipRouting = true }, inference: true);
        double ttft = prog.StepTimeS;
        double perSeq = prog.DecodeTokensPerS ?? throw new InvalidOperationException($"the compiler gave no decode rate for {cfg.Name}");
        double lat = 1 / perSeq;
        return new GenerationTiming(prog.Mode, prog.SystemsNeeded, ttft, lat, perSeq, perSeq * batch, ttft + (maxNewTokens - 1) * lat);
    }
}
