using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Bench;

/// <summary>
/// One training step (forward, backward, AdamW) of the reference MLP at 1024→2048→1024, batch 256, MSE —
/// ours through the Trainer on the CPU device vs PyTorch's eager loop, in the same run, reported as a ratio.
/// </summary>
public static class TrainStepBench
{
    private sealed class Mlp(int d, int h) : Module
    {
        private readonly Sequential layers = new(new Linear(d, h), new GELU(), new Linear(h, d));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    /// <summary>Runs the benchmark: [--dim D] [--hidden H] [--batch B] [--steps N] [--threads T].</summary>
    public static int Run(string[] args)
    {
        int d = Arg(args, "--dim", 1024), h = Arg(args, "--hidden", 2048), b = Arg(args, "--batch", 256), steps = Arg(args, "--steps", 20);
        int threads = Arg(args, "--threads", Environment.ProcessorCount);
        Generator.Default.ManualSeed(0);
        var model = new Mlp(d, h);
        var x = DenseTensor.Zeros(b, d); Generator.Default.FillNormal(x.AsFloat(), 0, 1);
        var y = DenseTensor.Zeros(b, d); Generator.Default.FillNormal(y.AsFloat(), 0, 1);
        var times = new List<double>();
        var sw = new Stopwatch();
        var trainer = new Trainer(model, new AdamW(model.Parameters(), lr: 1e-3), new TrainerConfig { MaxSteps = steps + 3, Progress = "none" });
        trainer.StepCompleted += m => times.Add(m.HostSeconds);
        trainer.Fit(new DataLoader(x, y, b));
        var ours = times.Skip(3).OrderBy(t => t).ToList();
        double oursMedian = ours[ours.Count / 2], oursBest = ours[0];

        var torch = RunTorch(d, h, b, steps, threads);
        double torchMedian = torch.GetProperty("median_s").GetDouble(), torchBest = torch.GetProperty("best_s").GetDouble();
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(ci, $"MLP {d}->{h}->{d} GELU, AdamW, MSE, batch {b}, {threads} threads, {steps} timed steps after 3 warm-up"));
        Console.WriteLine(string.Create(ci, $"{"",-12} {"median ms",10} {"best ms",10}"));
        Console.WriteLine(string.Create(ci, $"{"WaferSharp",-12} {oursMedian * 1e3,10:F1} {oursBest * 1e3,10:F1}"));
        Console.WriteLine(string.Create(ci, $"{"PyTorch",-12} {torchMedian * 1e3,10:F1} {torchBest * 1e3,10:F1}   (torch {torch.GetProperty("version").GetString()}, {torch.GetProperty("threads").GetInt32()} threads)"));
        Console.WriteLine(string.Create(ci, $"time ratio ours/PyTorch (median): {oursMedian / torchMedian:F2}x  (goal <= 0.80)"));
        return 0;
    }

    private static int Arg(string[] a, string name, int dflt)
    {
        int i = Array.IndexOf(a, name);
        return i >= 0 && i + 1 < a.Length ? int.Parse(a[i + 1], CultureInfo.InvariantCulture) : dflt;
    }

    private static JsonElement RunTorch(int d, int h, int b, int steps, int threads)
    {
        string script = Path.Combine(Directory.GetCurrentDirectory(), "bench", "torch_train_step.py");
        if (!File.Exists(script)) throw new FileNotFoundException("run from the repository root: bench/torch_train_step.py not found", script);
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var a in new[] { d, h, b, steps, threads }) psi.ArgumentList.Add(a.ToString(CultureInfo.InvariantCulture));
        psi.Environment.Remove("OPENBLAS_CORETYPE");
        psi.Environment.Remove("OPENBLAS_L2_SIZE");
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("PyTorch peer failed: " + err);
        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.Clone();
    }
}

/// <summary>Per-op time breakdown of the traced MLP step on the CPU executor (for finding hot spots).</summary>
public static class TrainStepProfile
{
    private sealed class Mlp(int d, int h) : Module
    {
        private readonly Sequential layers = new(new Linear(d, h), new GELU(), new Linear(h, d));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    /// <summary>Runs 10 steps and prints time per op name.</summary>
    public static int Run(string[] args)
    {
        var model = new Mlp(1024, 2048);
        var opt = new AdamW(model.Parameters());
        var x = DenseTensor.Zeros(256, 1024); var y = DenseTensor.Zeros(256, 1024);
        var step = TrainStep.Build(model, opt, (m, a, b) => F.MseLoss(m.Forward(a), b), new(DType.Float32, x.Shape), new(DType.Float32, y.Shape));
        var exec = new WaferSharp.Graph.Execution.CpuExecutor(step.Graph) { DonatePersistentInputs = true };
        var byOp = new Dictionary<string, double>();
        var sw = Stopwatch.StartNew();
        exec.AfterNode = (n, _) => { byOp[n.Op.Name + (n.Attrs.Has("trans_a") || n.Attrs.Has("trans_b") ? n.Attrs.ToString() : "")] = byOp.GetValueOrDefault(n.Op.Name + (n.Attrs.Has("trans_a") || n.Attrs.Has("trans_b") ? n.Attrs.ToString() : "")) + sw.Elapsed.TotalMilliseconds; sw.Restart(); };
        var total = Stopwatch.StartNew();
        for (int i = 0; i < 13; i++)
        {
            if (i == 3) { byOp.Clear(); total.Restart(); }
            sw.Restart();
            var r = exec.Run(step.Feeds(opt, new Batch(x, y), i, opt.ScalarValues(i + 1, 1e-3)));
        }
        Console.WriteLine($"total per step {total.Elapsed.TotalMilliseconds / 10:F1} ms");
        foreach (var (k, v) in byOp.OrderByDescending(kv => kv.Value)) Console.WriteLine($"{k,-40} {v / 10,8:F2} ms");
        return 0;
    }
}

/// <summary>GFLOP/s of our SGEMM on the six GEMM shapes of the MLP training step (diagnostics).</summary>
public static class TrainStepGemmShapes
{
    /// <summary>Prints GFLOP/s per shape.</summary>
    public static int Run(string[] args)
    {
        (string name, bool ta, bool tb, int m, int n, int k)[] shapes =
        [
            ("fwd1 x·W1ᵀ", false, true, 256, 2048, 1024), ("fwd2 h·W2ᵀ", false, true, 256, 1024, 2048),
            ("dx2 g·W2", false, false, 256, 2048, 1024), ("dW2 gᵀ·h", true, false, 1024, 2048, 256),
            ("dx1 g·W1", false, false, 256, 1024, 2048), ("dW1 gᵀ·x", true, false, 2048, 1024, 256),
        ];
        foreach (var (name, ta, tb, m, n, k) in shapes)
        {
            var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
            new Generator(1).FillNormal(a, 0, 1); new Generator(2).FillNormal(b, 0, 1);
            int lda = ta ? m : k, ldb = tb ? k : n;
            var best = double.MaxValue;
            for (int r = 0; r < 15; r++)
            {
                var sw = Stopwatch.StartNew();
                WaferSharp.Tensors.Kernels.Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            Console.WriteLine($"{name,-14} m={m,5} n={n,5} k={k,5}  {2.0 * m * n * k / best / 1e9,7:F1} GFLOP/s  ({best * 1e3:F2} ms)");
        }
        return 0;
    }
}
