using System.Globalization;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;
using WaferSharp.Training;
using WaferSharp.Zoo;

namespace WaferSharp.Cli;

public static partial class TrainCommand
{
    // zoo:NAME: the zoo model with random weights (seeded), trained on --data (int64 tokens "x"/"y" [N, T] for
    // language models) or, by default, a synthetic next-token task (each row counts up from a random token).
    private static (Module, Optimizer, DataLoader, string, string, int) Zoo(Args a)
    {
        var cfg = ModelZoo.Get(a.Model[4..]);
        int seq = cfg.IsLanguageModel ? a.SeqLen ?? Math.Min(cfg.SeqLen, 128) : 0;
        if (cfg.IsLanguageModel && (seq < 1 || seq > cfg.SeqLen)) throw new CliErrors.UserError($"--seq-len must be in 1..{cfg.SeqLen} for {cfg.Name}, got {seq}");
        Generator.Default.ManualSeed(a.Seed);
        var module = ModelZoo.Create(cfg, materialize: true);
        DenseTensor x, y;
        if (a.Data is not null)
        {
            RunCommand.MustExist(a.Data, "data file");
            var arrays = Npz.Read(a.Data);
            x = arrays.TryGetValue(a.InputKey, out var xv) ? xv : throw new CliErrors.UserError($"{a.Data} has no array '{a.InputKey}' (--input-key)");
            y = arrays.TryGetValue(a.TargetKey, out var yv) ? yv : throw new CliErrors.UserError($"{a.Data} has no array '{a.TargetKey}' (--target-key)");
            if (cfg.IsLanguageModel && (x.DType != DType.Int64 || x.Rank != 2 || y.Shape != x.Shape))
                throw new CliErrors.UserError($"{cfg.Name} trains on int64 tokens [rows, seq] in '{a.InputKey}' and targets of the same shape in '{a.TargetKey}'; got {x.DType.ShortName()}{x.Shape} and {y.DType.ShortName()}{y.Shape}");
        }
        else
        {
            int rows = a.BatchSize * 8;
            var g = new Generator(Generator.Mix(a.Seed + 17));
            if (cfg.IsLanguageModel)
            {
                var xs = new long[rows * seq]; var ys = new long[rows * seq];
                for (int i = 0; i < rows; i++)
                {
                    long start = g.NextInt(cfg.Vocab);
                    for (int j = 0; j < seq; j++) { xs[i * seq + j] = (start + j) % cfg.Vocab; ys[i * seq + j] = (start + j + 1) % cfg.Vocab; }
                }
                x = DenseTensor.FromArray(xs, rows, seq); y = DenseTensor.FromArray(ys, rows, seq);
            }
            else
            {
                x = DenseTensor.Zeros(rows, cfg.Hidden); g.FillNormal(x.AsFloat(), 0, 1);
                y = DenseTensor.Zeros(rows, cfg.Hidden); g.FillNormal(y.AsFloat(), 0, 1);
            }
        }
        var ps = module.Parameters();
        var label = string.Create(CultureInfo.InvariantCulture, $"zoo:{cfg.Name}{(cfg.IsLanguageModel ? $" (seq {seq})" : "")}");
        return (module, MakeOptimizer(a, ps), new DataLoader(x, y, a.BatchSize, shuffle: !a.NoShuffle, seed: a.Seed), label, "model", ps.Count);
    }
}
