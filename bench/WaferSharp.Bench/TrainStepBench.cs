using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WaferSharp.Tensors;
using WaferSharp.Training;

using static WaferSharp.Bench.BenchStats;

namespace WaferSharp.Bench;

/// <summary>
/// One training step (forward, backward, AdamW) of the reference MLP at 1024→2048→1024, batch 256, MSE —
/// ours through the Trainer on the CPU device vs PyTorch's eager loop, in the same run, reported as a ratio.
/// </summary>
public static class TrainStepBench
{
    /// <summary>
    /// Runs the benchmark: [--dim D] [--hidden H] [--batch B] [--steps N] [--block S] [--threads T].
    /// Ours and PyTorch's steps are interleaved in blocks of S (the PyTorch peer stays alive and runs a block
    /// whenever we finished one), so both sides sample the same machine load; the ratio is taken of the medians.
    /// </summary>
    public static int Run(string[] args)
    {
        int d = Arg(args, "--dim", 1024), h = Arg(args, "--hidden", 2048), b = Arg(args, "--batch", 256), steps = Arg(args, "--steps", 40);
        int block = Math.Max(1, Arg(args, "--block", 5)), threads = Arg(args, "--threads", Environment.ProcessorCount);
        const int warmup = 3;
        steps = (steps + block - 1) / block * block;
        Generator.Default.ManualSeed(0);
        var model = new BenchMlp(d, h);
        var x = DenseTensor.Zeros(b, d); Generator.Default.FillNormal(x.AsFloat(), 0, 1);
        var y = DenseTensor.Zeros(b, d); Generator.Default.FillNormal(y.AsFloat(), 0, 1);
        using var torch = new TorchPeer(d, h, b, threads);
        torch.Steps(warmup);
        var ours = new List<double>();
        var theirs = new List<double>();
        var blockRatios = new List<double>();
        var trainer = new Trainer(model, new AdamW(model.Parameters(), lr: 1e-3), new TrainerConfig { MaxSteps = steps + warmup, Progress = "none" });
        trainer.StepCompleted += m =>
        {
            if (m.Step <= warmup) return;
            ours.Add(m.HostSeconds);
            if (ours.Count % block != 0) return;
            // after each block of ours, one block of PyTorch's (the Trainer's step timer is not running here).
            // 20 ms pauses around it let the idle side's workers (OpenMP's and the .NET pool's spin-wait after
            // a parallel region) go to sleep, so neither side's spinning threads steal a core from the other.
            Thread.Sleep(20);
            var t = torch.Steps(block);
            Thread.Sleep(20);
            theirs.AddRange(t);
            blockRatios.Add(Median(ours.Skip(ours.Count - block)) / Median(t));
        };
        trainer.Fit(new DataLoader(x, y, b));

        double oursMedian = Median(ours), oursBest = ours.Min(), torchMedian = Median(theirs), torchBest = theirs.Min();
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(ci, $"MLP {d}->{h}->{d} GELU, AdamW, MSE, batch {b}, {threads} threads; {steps} timed steps each after {warmup} warm-up, interleaved in blocks of {block}"));
        Console.WriteLine(string.Create(ci, $"{"",-12} {"median ms",10} {"best ms",10}"));
        Console.WriteLine(string.Create(ci, $"{"WaferSharp",-12} {oursMedian * 1e3,10:F1} {oursBest * 1e3,10:F1}"));
        Console.WriteLine(string.Create(ci, $"{"PyTorch",-12} {torchMedian * 1e3,10:F1} {torchBest * 1e3,10:F1}   (torch {torch.Version}, {torch.Threads} threads)"));
        Console.WriteLine(string.Create(ci, $"time ratio ours/PyTorch: median {oursMedian / torchMedian:F2}x, best {oursBest / torchBest:F2}x, median of per-block ratios {Median(blockRatios):F2}x  (goal <= 0.80)"));
        return 0;
    }

    /// <summary>The PyTorch peer (bench/torch_train_step.py --serve), kept alive to run blocks of steps on request.</summary>
    private sealed class TorchPeer : IDisposable
    {
        private readonly Process _p;
        public string Version { get; }
        public int Threads { get; }

        public TorchPeer(int d, int h, int b, int threads)
        {
            string script = Path.Combine(Directory.GetCurrentDirectory(), "bench", "torch_train_step.py");
            if (!File.Exists(script)) throw new FileNotFoundException("run from the repository root: bench/torch_train_step.py not found", script);
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false, UseShellExecute = false };
            psi.ArgumentList.Add(script);
            foreach (var a in new[] { d, h, b, 0, threads }) psi.ArgumentList.Add(a.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add("--serve");
            psi.Environment.Remove("OPENBLAS_CORETYPE");
            psi.Environment.Remove("OPENBLAS_L2_SIZE");
            _p = Process.Start(psi)!;
            var hello = ReadJson();
            Version = hello.GetProperty("version").GetString()!;
            Threads = hello.GetProperty("threads").GetInt32();
        }

        public List<double> Steps(int n)
        {
            _p.StandardInput.WriteLine(n.ToString(CultureInfo.InvariantCulture));
            _p.StandardInput.Flush();
            return ReadJson().GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToList();
        }

        private JsonElement ReadJson()
        {
            string? line = _p.StandardOutput.ReadLine();
            if (line is null) throw new InvalidOperationException($"PyTorch peer exited (code {(_p.WaitForExit(5000) ? _p.ExitCode : -1)}); see its stderr above");
            return JsonDocument.Parse(line).RootElement.Clone();
        }

        public void Dispose()
        {
            try { _p.StandardInput.WriteLine("quit"); _p.StandardInput.Close(); _p.WaitForExit(10000); }
            finally { _p.Dispose(); }
        }
    }
}

/// <summary>Per-op time breakdown of the traced MLP step on the CPU executor (for finding hot spots).</summary>
public static class TrainStepProfile
{
    /// <summary>Runs 10 steps and prints time per op name.</summary>
    public static int Run(string[] args)
    {
        var model = new BenchMlp(1024, 2048);
        var opt = new AdamW(model.Parameters());
        var x = DenseTensor.Zeros(256, 1024); var y = DenseTensor.Zeros(256, 1024);
        var step = TrainStep.Build(model, opt, (m, a, b) => F.MseLoss(m.Forward(a), b), new(DType.Float32, x.Shape), new(DType.Float32, y.Shape));
        var exec = new WaferSharp.Graph.Execution.CpuExecutor(step.Graph) { DonatePersistentInputs = true };
        var byOp = new Dictionary<string, double>();
        var sw = Stopwatch.StartNew();
        exec.AfterNode = (n, _) =>
        {
            string key = n.Op.Name + (n.Attrs.Has("trans_a") || n.Attrs.Has("trans_b") ? n.Attrs.ToString() : "");
            byOp[key] = byOp.GetValueOrDefault(key) + sw.Elapsed.TotalMilliseconds;
            sw.Restart();
        };
        var total = Stopwatch.StartNew();
        for (int i = 0; i < 13; i++)
        {
            if (i == 3) { byOp.Clear(); total.Restart(); }
            sw.Restart();
            var r = exec.Run(step.Feeds(opt, new Batch(x, y), i, opt.ScalarValues(i + 1, 1e-3)));
        }
        Console.WriteLine($"total per step {total.Elapsed.TotalMilliseconds / 10:F1} ms; GCs gen0/1/2 so far {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, allocated {GC.GetTotalAllocatedBytes() / 1e6:F0} MB");
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
        if (args.Contains("--onnx"))
            shapes = // the five Linear layers of the onnx-run GPT model (rows = batch 8 × seq 128)
            [
                ("qkv", false, true, 1024, 768, 256), ("proj", false, true, 1024, 256, 256), ("fc", false, true, 1024, 1024, 256),
                ("fc2", false, true, 1024, 256, 1024), ("head", false, true, 1024, 512, 256),
            ];
        if (args.Contains("--square"))
            shapes = [("sq1024", false, false, 1024, 1024, 1024), ("sq2048", false, false, 2048, 2048, 2048)];
        foreach (var (name, ta, tb, m, n, k) in shapes)
        {
            var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
            new Generator(1).FillNormal(a, 0, 1); new Generator(2).FillNormal(b, 0, 1);
            int lda = ta ? m : k, ldb = tb ? k : n;
            var flush = new float[16 << 20];
            bool cold = args.Contains("--cold"), ab = args.Contains("--ab");
            // --ab: alternate the static split (A) and shared packing (B) under the same load
            var times = new List<double>[2] { new(), new() };
            for (int r = 0; r < (ab ? 30 : 15); r++)
            {
                int mode = ab ? r % 2 : 1;
                WaferSharp.Tensors.Kernels.Sgemm.StaticSplit = mode == 0;
                if (cold) for (int f = 0; f < flush.Length; f += 16) flush[f] += 1; // evict caches, as in a training step
                var sw = Stopwatch.StartNew();
                WaferSharp.Tensors.Kernels.Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
                times[mode].Add(sw.Elapsed.TotalSeconds);
            }
            WaferSharp.Tensors.Kernels.Sgemm.StaticSplit = false;
            string Fmt(List<double> t) { var s = t.OrderBy(v => v).ToList(); return $"best {2.0 * m * n * k / s[0] / 1e9,6:F1} median {2.0 * m * n * k / s[s.Count / 2] / 1e9,6:F1} GFLOP/s"; }
            Console.WriteLine($"{name,-14} m={m,5} n={n,5} k={k,5}  " + (ab ? $"static: {Fmt(times[0])} | shared: {Fmt(times[1])}" : Fmt(times[1])));
        }
        return 0;
    }
}
