using System.Diagnostics;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Hardware;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Bench;

/// <summary>
/// Fabric simulator speed and memory:
/// <c>dotnet run -c Release --project bench/WaferSharp.Bench -- simulate [--k K] [--repeat N] [--threads T] [--tile T] [--wse3]</c>.
/// Case 1: SUMMA GEMM 2048 × K × 2048 on mesh:64x64 (every PE holds a 32 × 32 C tile and is busy; <c>--tile T</c> for
/// T × T tiles, i.e. a 64T × K × 64T product), reported as
/// simulated PE-cycles per second (goal ≥ 1e8); the peer in the same run is the CPU computing the same product with
/// the packed Sgemm, so the ratio is the simulator's slowdown over doing the arithmetic directly.
/// Case 2 (--wse3): a scalar center-rooted all-reduce over the whole 762 × 1172 wse3 fabric, with peak memory (goal &lt; 8 GB).
/// </summary>
public static class SimulateBench
{
    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        int k = 256, repeat = 2, threads = new FabricOptions().Threads, tile = 32;
        bool wse3 = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--k") k = int.Parse(args[++i]);
            else if (args[i] == "--repeat") repeat = int.Parse(args[++i]);
            else if (args[i] == "--wse3") wse3 = true;
            else if (args[i] == "--threads") threads = int.Parse(args[++i]);
            else if (args[i] == "--tile") tile = int.Parse(args[++i]);
        }
        const int s = 64;
        int m = s * tile, n = s * tile;
        var rng = new Random(1);
        var a = new float[m * k]; var b = new float[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
        double bestSim = double.MaxValue, bestCpu = double.MaxValue;
        KernelRun? run = null;
        for (int r = 0; r < repeat; r++)
        {
            var sw = Stopwatch.StartNew();
            run = SummaGemmProgram.Run(new FabricSimulator(WaferSpec.Mesh(s, s), null, new FabricOptions { Threads = threads }), 0, 0, s, a, b, m, k, n);
            bestSim = Math.Min(bestSim, sw.Elapsed.TotalSeconds);
            var c = new float[m * n];
            sw.Restart();
            Sgemm.Multiply(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
            bestCpu = Math.Min(bestCpu, sw.Elapsed.TotalSeconds);
        }
        double peCycles = (double)run!.Cycles * s * s;
        Console.WriteLine($"gemm {m}x{k}x{n} SUMMA on mesh:{s}x{s}: {run.Cycles} cycles, FMAC utilization {run.Stats.FmacUtilization:P1}, {run.Stats.WaveletHops} wavelet hops, {run.Stats.BackPressureStalls} stalls; router threads {threads}");
        Console.WriteLine($"  simulator {bestSim:F2} s = {peCycles / bestSim:E2} PE-cycles/s (goal 1e8: {peCycles / bestSim / 1e8:F2}x)");
        Console.WriteLine($"  CPU Sgemm {bestCpu * 1e3:F1} ms; simulation / direct arithmetic = {bestSim / bestCpu:F0}x");
        if (wse3)
        {
            var sw = Stopwatch.StartNew();
            var spec = WaferSpec.Wse3;
            var r = AllReduceProgram.Run(new FabricSimulator(spec, null, new FabricOptions { Threads = threads }), new Region(0, 0, spec.Width, spec.Height), 1, (i, j) => 1f);
            double t = sw.Elapsed.TotalSeconds;
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;
            Console.WriteLine($"allreduce 1 float on wse3 {spec.Width}x{spec.Height}: {r.Cycles} cycles ({(double)r.Cycles / (spec.Width + spec.Height - 2):F2} x diameter), sum {r.Output[0]}, {t:F1} s, peak working set {peak / 1e9:F2} GB (goal < 8 GB)");
        }
        return 0;
    }
}
