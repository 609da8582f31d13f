using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/WaferSharp.Bench -- gemm [options]</c>
/// <para>Measures <see cref="Sgemm.Multiply"/> on square float32 matrices (C = A·B, beta = 0) on 1 and 2
/// threads, then runs <c>bench/torch_gemm.py</c> (torch.matmul at the same sizes/thread counts) and
/// prints both side by side with the fraction of the machine's peak.</para>
/// Options: <c>--sizes 1024,2048,4096</c> <c>--threads 1,2</c> <c>--runs N</c> (0 = by size)
/// <c>--no-torch</c> <c>--python /usr/bin/python3</c> <c>--wait-idle</c> (shared machines: before every
/// timed run wait for a quiet 0.3 s window, for both ours and torch).
/// </summary>
public static class GemmBench
{
    private sealed record Result(int N, int Threads, int Runs, double BestS, double MedianS)
    {
        public double GflopsBest => 2.0 * N * N * (double)N / BestS / 1e9;
        public double GflopsMedian => 2.0 * N * N * (double)N / MedianS / 1e9;
    }

    public static int Run(string[] args)
    {
        int[] sizes = [1024, 2048, 4096];
        int[] threads = [1, 2];
        int runs = 0;
        bool torch = true;
        bool waitIdle = false;
        string python = "/usr/bin/python3";
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes": sizes = ParseList(args[++i]); break;
                case "--threads": threads = ParseList(args[++i]); break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-torch": torch = false; break;
                case "--python": python = args[++i]; break;
                case "--wait-idle": waitIdle = true; break;
                default:
                    Console.Error.WriteLine($"gemm: unknown option '{args[i]}'");
                    Console.Error.WriteLine("usage: gemm [--sizes 1024,2048,4096] [--threads 1,2] [--runs N] [--no-torch] [--python PATH] [--wait-idle]");
                    return 2;
            }
        }

        double mhz = ReadCpuMhz();
        int cores = Environment.ProcessorCount;
        Console.WriteLine($"WaferSharp SGEMM benchmark: C[n×n] = A·B (float32, row-major, beta = 0)");
        Console.WriteLine($"  CPU: {ReadCpuModel()}, {cores} logical CPUs, AVX2={Avx2.IsSupported} FMA={Fma.IsSupported} AVX-512F={Avx512F.IsSupported}");
        Console.WriteLine($"  blocking: MR={Sgemm.MR} NR={Sgemm.NR} KC={Sgemm.KC} MC={Sgemm.MC} NC={Sgemm.NC}");
        Console.WriteLine($"  peak assumption: 32 FLOP/cycle/core (2 × 256-bit FMA pipes × 8 floats × 2) × {mhz:F0} MHz " +
                          $"('cpu MHz' in /proc/cpuinfo) = {PeakGflops(1, mhz):F1} GFLOP/s per core, {PeakGflops(cores, mhz):F1} for {cores} cores");
        double fmaPeak = MeasureFmaPeak(waitIdle);
        Console.WriteLine($"  measured register-only FMA throughput on one core: {fmaPeak:F1} GFLOP/s " +
                          $"(≈ {fmaPeak / 32 * 1000:F0} MHz effective; the 'cpu MHz' figure under KVM is the nominal clock, boost is higher)");
        Console.WriteLine();

        var ours = new List<Result>();
        foreach (int t in threads)
        {
            foreach (int n in sizes)
            {
                var r = MeasureOurs(n, t, runs, waitIdle);
                ours.Add(r);
                Console.WriteLine($"  ours  n={n,5} threads={t}: best {r.BestS * 1e3,9:F2} ms {r.GflopsBest,7:F1} GFLOP/s   median {r.MedianS * 1e3,9:F2} ms {r.GflopsMedian,7:F1} GFLOP/s  ({r.Runs} runs)");
            }
        }

        List<Result>? theirs = null;
        string torchInfo = "";
        if (torch)
        {
            Console.WriteLine();
            (theirs, torchInfo) = RunTorch(python, sizes, threads, runs, waitIdle);
        }

        Console.WriteLine();
        Console.WriteLine("## GEMM (float32) results — GFLOP/s = 2n³/t, best (median) of the timed runs");
        if (torchInfo.Length > 0) Console.WriteLine(torchInfo);
        Console.WriteLine();
        Console.WriteLine("| n | threads | WaferSharp GFLOP/s best (median) | torch GFLOP/s best (median) | ours/torch (best) | ours % of peak @ cpu MHz | torch % of peak @ cpu MHz | ours % of measured FMA peak |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in ours)
        {
            var p = theirs?.FirstOrDefault(x => x.N == r.N && x.Threads == r.Threads);
            double peak = PeakGflops(r.Threads, mhz);
            string torchCol = p is null ? "n/a" : $"{p.GflopsBest:F1} ({p.GflopsMedian:F1})";
            string ratio = p is null ? "n/a" : $"{r.GflopsBest / p.GflopsBest:F2}";
            string torchPeak = p is null ? "n/a" : $"{100 * p.GflopsBest / peak:F0}%";
            Console.WriteLine($"| {r.N} | {r.Threads} | {r.GflopsBest:F1} ({r.GflopsMedian:F1}) | {torchCol} | {ratio} | " +
                              $"{100 * r.GflopsBest / peak:F0}% | {torchPeak} | {100 * r.GflopsBest / (fmaPeak * r.Threads):F0}% |");
        }
        Console.WriteLine();
        Console.WriteLine($"peak @ cpu MHz = threads × 32 FLOP/cycle × {mhz:F0} MHz ({PeakGflops(1, mhz):F1} GFLOP/s per core, " +
                          $"{PeakGflops(2, mhz):F1} for 2 cores); measured FMA peak = {fmaPeak:F1} GFLOP/s per core × threads.");
        return 0;
    }

    private static int[] ParseList(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();

    private static double PeakGflops(int cores, double mhz) => cores * 32.0 * mhz / 1000.0;

    private static int DefaultRuns(int n) => n <= 1024 ? 15 : n <= 2048 ? 7 : 4;

    private static Result MeasureOurs(int n, int threads, int runs, bool waitIdle)
    {
        if (runs <= 0) runs = DefaultRuns(n);
        var rng = new Random(42);
        var a = new float[n * n];
        var b = new float[n * n];
        var c = new float[n * n];
        for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble() - 0.5f; b[i] = (float)rng.NextDouble() - 0.5f; }

        // warm-up: JIT to tier 1, thread pool spun up, packing buffers allocated, pages touched
        var warm = Stopwatch.StartNew();
        int w = 0;
        while (w < 2 || (w < 10 && warm.Elapsed.TotalSeconds < 0.5))
        {
            Sgemm.Multiply(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n, threads);
            w++;
        }

        var times = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            if (waitIdle)
            {
                WaitIdle();
                Sgemm.Multiply(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n, threads); // re-warm after the pause
            }
            long t0 = Stopwatch.GetTimestamp();
            Sgemm.Multiply(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n, threads);
            times[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        return new Result(n, threads, runs, times[0], times[runs / 2]);
    }

    private static (List<Result>?, string) RunTorch(string python, int[] sizes, int[] threads, int runs, bool waitIdle)
    {
        string? script = FindScript();
        if (script is null)
        {
            Console.Error.WriteLine("  torch peer: bench/torch_gemm.py not found (run from the repository root)");
            return (null, "");
        }
        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("--sizes"); psi.ArgumentList.Add(string.Join(',', sizes));
        psi.ArgumentList.Add("--threads"); psi.ArgumentList.Add(string.Join(',', threads));
        if (runs > 0) { psi.ArgumentList.Add("--runs"); psi.ArgumentList.Add(runs.ToString(CultureInfo.InvariantCulture)); }
        if (waitIdle) psi.ArgumentList.Add("--wait-idle");

        // The peer must run OpenBLAS with its own CPU detection: drop overrides in the child only.
        var removed = new List<string>();
        foreach (var name in new[] { "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE" })
        {
            string? v = Environment.GetEnvironmentVariable(name);
            psi.Environment.Remove(name);
            removed.Add(v is null ? $"{name} (was not set)" : $"{name} (was '{v}')");
        }
        string envNote = "torch child environment: unset " + string.Join(", ", removed) + ".";
        Console.WriteLine($"  running {python} {script} ...  [{envNote}]");

        using var proc = Process.Start(psi)!;
        proc.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine("  " + e.Data); };
        proc.BeginErrorReadLine();
        string stdout = proc.StandardOutput.ReadToEnd();
        proc.WaitForExit();
        if (proc.ExitCode != 0)
        {
            Console.Error.WriteLine($"  torch peer exited with code {proc.ExitCode}");
            return (null, envNote);
        }

        string json = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var list = new List<Result>();
        foreach (var e in root.GetProperty("results").EnumerateArray())
        {
            list.Add(new Result(e.GetProperty("n").GetInt32(), e.GetProperty("threads").GetInt32(), e.GetProperty("runs").GetInt32(),
                e.GetProperty("best_s").GetDouble(), e.GetProperty("median_s").GetDouble()));
        }
        string info = $"torch {root.GetProperty("torch").GetString()} using {root.GetProperty("blas").GetString()}" +
                      $" (core '{(root.TryGetProperty("blas_core", out var core) ? core.ToString() : "?")}'); " +
                      "threads set with torch.set_num_threads(t) and openblas_set_num_threads(t). " + envNote;
        return (list, info);
    }

    private static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "bench", "torch_gemm.py");
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// Shared machines: wait (at most 30 s) for a 0.3 s window in which the CPUs are &lt; 10 % busy,
    /// judged from /proc/stat. Same policy as <c>torch_gemm.py --wait-idle</c>.
    /// </summary>
    private static void WaitIdle()
    {
        static (long Busy, long Total) Read()
        {
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            long total = f.Sum();
            return (total - f[3] - f[4], total);
        }
        try
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < 30)
            {
                var a = Read();
                Thread.Sleep(300);
                var b = Read();
                if ((double)(b.Busy - a.Busy) / Math.Max(1, b.Total - a.Total) < 0.10) return;
            }
        }
        catch (IOException) { }
    }

    private static double ReadCpuMhz()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (!line.StartsWith("cpu MHz", StringComparison.Ordinal)) continue;
                int colon = line.IndexOf(':');
                if (colon > 0 && double.TryParse(line[(colon + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    return v;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 2445.0; // fallback: this project's reference machine
    }

    private static string ReadCpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "unknown CPU";
    }

    /// <summary>Register-only FMA throughput on the calling thread (12 independent chains), best of 7.</summary>
    private static double MeasureFmaPeak(bool waitIdle)
    {
        if (!Fma.IsSupported) return double.NaN;
        const long iters = 20_000_000;
        double best = 0;
        for (int rep = 0; rep < 7; rep++)
        {
            if (waitIdle) WaitIdle();
            long t0 = Stopwatch.GetTimestamp();
            float sink = FmaLoop(iters);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (float.IsNaN(sink)) Console.Write("");
            best = Math.Max(best, iters * 12.0 * 16.0 / s / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop(long iters)
    {
        Vector256<float> x = Vector256.Create(1.0000001f), y = Vector256.Create(0.9999999f);
        Vector256<float> a0 = y, a1 = y, a2 = y, a3 = y, a4 = y, a5 = y, a6 = y, a7 = y, a8 = y, a9 = y, a10 = y, a11 = y;
        for (long i = 0; i < iters; i++)
        {
            a0 = Fma.MultiplyAdd(a0, x, y); a1 = Fma.MultiplyAdd(a1, x, y); a2 = Fma.MultiplyAdd(a2, x, y);
            a3 = Fma.MultiplyAdd(a3, x, y); a4 = Fma.MultiplyAdd(a4, x, y); a5 = Fma.MultiplyAdd(a5, x, y);
            a6 = Fma.MultiplyAdd(a6, x, y); a7 = Fma.MultiplyAdd(a7, x, y); a8 = Fma.MultiplyAdd(a8, x, y);
            a9 = Fma.MultiplyAdd(a9, x, y); a10 = Fma.MultiplyAdd(a10, x, y); a11 = Fma.MultiplyAdd(a11, x, y);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
