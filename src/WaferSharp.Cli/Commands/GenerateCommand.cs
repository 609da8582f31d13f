using System.CommandLine;
using System.Globalization;
using WaferSharp.Runtime;
using WaferSharp.Runtime.Generation;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;
using WaferSharp.Zoo;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer generate zoo:NAME --device wse3 [--systems N] --prompt-tokens FILE|--prompt-len L --max-new-tokens T
/// [--batch B] [--seed S] [--top-k K] [--top-p P] [--temperature T] [--weights FILE.safetensors] [--timing-only]</c>:
/// autoregressive generation with a KV cache on a wafer device (or the cache-free reference on <c>cpu</c>); prints the
/// tokens and the device's time to first token, per-token latency and tokens/s from the compiler's inference mapping.
/// </summary>
public static class GenerateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "zoo:NAME (a GPT-2/GPT-3 or Llama model)." };
        var device = new Option<string>("--device") { Description = "cpu (reference, no cache), wse3, wse2 or mesh:WxH.", DefaultValueFactory = _ => "wse3" };
        var systems = new Option<int>("--systems") { Description = "Systems available; models larger than one wafer's SRAM are split across systems.", DefaultValueFactory = _ => 1 };
        var promptFile = new Option<string?>("--prompt-tokens") { Description = "Text file of token ids (spaces or commas), one prompt per line." };
        var promptLen = new Option<int?>("--prompt-len") { Description = "Random prompts of this many tokens (seeded by --seed)." };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate per sequence.", DefaultValueFactory = _ => 16 };
        var batch = new Option<int>("--batch") { Description = "Sequences (with --prompt-len; a prompt file gives one per line).", DefaultValueFactory = _ => 1 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of sampling, random prompts and random weights.", DefaultValueFactory = _ => 0UL };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var temp = new Option<double>("--temperature") { Description = "0 = greedy; > 0 samples.", DefaultValueFactory = _ => 0.0 };
        var precision = new Option<string>("--precision") { Description = "Precision of the timing model: bf16, fp16 or fp32.", DefaultValueFactory = _ => "bf16" };
        var weights = new Option<string?>("--weights") { Description = "A .safetensors file of the model's weights (default: random init from --seed)." };
        var timingOnly = new Option<bool>("--timing-only") { Description = "Only the device timing (for models too large to hold on the host)." };
        var cmd = new Command("generate", "Generate tokens autoregressively with a KV cache on a simulated wafer and report latency and throughput.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { device, systems, promptFile, promptLen, maxNew, batch, seed, topK, topP, temp, precision, weights, timingOnly }) cmd.Options.Add(o);
        cmd.SetAction(pr => Run(pr.GetValue(model)!, pr.GetValue(device)!, pr.GetValue(systems), pr.GetValue(promptFile), pr.GetValue(promptLen),
            pr.GetValue(maxNew), pr.GetValue(batch), pr.GetValue(seed), new SamplingOptions(pr.GetValue(temp), pr.GetValue(topK), pr.GetValue(topP), pr.GetValue(seed)),
            pr.GetValue(precision)!, pr.GetValue(weights), pr.GetValue(timingOnly)));
        return cmd;
    }

    private static int Run(string modelArg, string device, int systems, string? promptFile, int? promptLen, int maxNew, int batch, ulong seed,
        SamplingOptions sampling, string precision, string? weights, bool timingOnly)
    {
        if (!modelArg.StartsWith("zoo:", StringComparison.OrdinalIgnoreCase))
            throw new CliErrors.UserError($"wafer generate takes zoo:NAME (GPT-2/GPT-3 or Llama), got '{modelArg}'");
        var cfg = ModelZoo.Get(modelArg[4..]);
        if (!cfg.IsLanguageModel) throw new CliErrors.UserError($"{cfg.Name} is not a language model; generate needs a GPT or Llama model");
        if ((promptFile is null) == (promptLen is null)) throw new CliErrors.UserError("give exactly one of --prompt-tokens FILE and --prompt-len L");
        if (systems < 1) throw new CliErrors.UserError($"--systems must be at least 1, got {systems}");
        if (batch < 1) throw new CliErrors.UserError($"--batch must be at least 1, got {batch}");
        if (device != "cpu" && !WaferRuntime.IsWaferDevice(device)) throw new CliErrors.UserError($"unknown device '{device}'; use cpu, wse3, wse2 or mesh:WxH");
        if (device == "cpu" && timingOnly) throw new CliErrors.UserError("--timing-only needs a wafer device");
        WaferRuntime.Register();
        long[][] prompts;
        if (promptFile is not null)
        {
            RunCommand.MustExist(promptFile, "prompt token file");
            prompts = File.ReadAllLines(promptFile).Where(l => l.Trim().Length > 0).Select((l, i) => l.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries)
                .Select(w => long.TryParse(w, NumberStyles.Integer, CultureInfo.InvariantCulture, out long t) ? t
                    : throw new CliErrors.UserError($"{promptFile} line {i + 1}: '{w}' is not a token id")).ToArray()).ToArray();
            if (prompts.Length == 0) throw new CliErrors.UserError($"{promptFile} holds no tokens");
        }
        else
        {
            if (promptLen < 1) throw new CliErrors.UserError($"--prompt-len must be at least 1, got {promptLen}");
            var g = new Generator(Generator.Mix(seed ^ 0x5EEDUL));
            prompts = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, promptLen!.Value).Select(_ => (long)g.NextInt(cfg.Vocab)).ToArray()).ToArray();
        }
        if (timingOnly)
        {
            var shape = ModelZoo.Create(cfg);
            var t = TextGenerator.Time(shape, cfg, Hardware.WaferSpec.Parse(device), prompts.Length, prompts[0].Length, maxNew, systems, precision);
            PrintTiming(t, device, prompts.Length);
            return 0;
        }
        Generator.Default.ManualSeed(seed);
        var module = ModelZoo.Create(cfg, materialize: true);
        if (weights is not null)
        {
            RunCommand.MustExist(weights, "weights file");
            module.LoadStateDict(SafeTensors.Read(weights).Tensors);
        }
        var r = TextGenerator.Generate(module, cfg, prompts, maxNew, sampling, device, systems, precision);
        for (int b = 0; b < r.NewTokens.Length; b++)
            Console.Out.WriteLine($"sequence {b}: {string.Join(' ', r.NewTokens[b])}");
        if (r.Timing is { } timing) PrintTiming(timing, device, prompts.Length);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"host: {r.HostSeconds:F3} s ({r.NewTokens.Sum(x => x.Length) / r.HostSeconds:F1} tokens/s)"));
        return 0;
    }

    private static void PrintTiming(GenerationTiming t, string device, int batch)
    {
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"device {device} ({t.Mode}, {t.SystemsNeeded} system(s)): time to first token {t.TimeToFirstTokenS * 1e3:F4} ms, per-token latency {t.PerTokenLatencyS * 1e3:F4} ms, {t.TokensPerSecondPerSequence:N1} tokens/s per sequence, {t.TokensPerSecondTotal:N1} tokens/s total (batch {batch})"));
    }
}
