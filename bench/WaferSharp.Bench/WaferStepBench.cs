using System.Globalization;
using WaferSharp.Runtime;
using WaferSharp.Tensors;
using WaferSharp.Training;

using static WaferSharp.Bench.BenchStats;

namespace WaferSharp.Bench;

/// <summary>
/// Host wall time of one training step (forward, backward, AdamW) of the MLP on the <c>wse3</c> device (fast fidelity:
/// functional executor plus the compiler's timing model) vs on <c>cpu</c>, same model and data, in the same run.
/// The ratio is the cost of the timing model and the runtime around the executor (goal ≤ 1.3×).
/// </summary>
public static class WaferStepBench
{
    /// <summary>[--dim D] [--hidden H] [--batch B] [--blocks N] [--block S] [--device wse3] [--precision fp32|bf16|fp16]: N alternating blocks of S steps per device.</summary>
    public static int Run(string[] args)
    {
        int d = Arg(args, "--dim", 1024), h = Arg(args, "--hidden", 2048), b = Arg(args, "--batch", 64);
        int blocks = Arg(args, "--blocks", 8), block = Arg(args, "--block", 5);
        string device = args.SkipWhile(a => a != "--device").Skip(1).FirstOrDefault() ?? "wse3";
        string precision = args.SkipWhile(a => a != "--precision").Skip(1).FirstOrDefault() ?? "fp32";
        WaferRuntime.Register();
        Generator.Default.ManualSeed(0);
        var cpuModel = new BenchMlp(d, h);
        var waferModel = new BenchMlp(d, h);
        waferModel.LoadStateDict(cpuModel.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone()));
        var x = DenseTensor.Zeros(b, d); Generator.Default.FillNormal(x.AsFloat(), 0, 1);
        var y = DenseTensor.Zeros(b, d); Generator.Default.FillNormal(y.AsFloat(), 0, 1);
        var data = new DataLoader(x, y, b);
        var cpu = new Trainer(cpuModel, new AdamW(cpuModel.Parameters(), lr: 1e-3), new TrainerConfig { Device = "cpu", MaxSteps = block, Progress = "none" });
        var wafer = new Trainer(waferModel, new AdamW(waferModel.Parameters(), lr: 1e-3), new TrainerConfig { Device = device, MaxSteps = block, Progress = "none", Precision = precision });
        var tc = new List<double>(); var tw = new List<double>();
        StepMetrics? last = null;
        cpu.StepCompleted += m => tc.Add(m.HostSeconds);
        wafer.StepCompleted += m => { tw.Add(m.HostSeconds); last = m; };
        // Warm-up (tracing, JIT, the one compile of the step program), then alternate blocks so both see the same load.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        wafer.Fit(data);
        double firstWafer = sw.Elapsed.TotalSeconds;
        cpu.Fit(data);
        tc.Clear(); tw.Clear();
        var ratios = new List<double>();
        for (int i = 0; i < blocks; i++)
        {
            int c0 = tc.Count, w0 = tw.Count;
            if (i % 2 == 0) { cpu.Fit(data); wafer.Fit(data); } else { wafer.Fit(data); cpu.Fit(data); }
            ratios.Add(Median(tw.Skip(w0)) / Median(tc.Skip(c0)));
        }
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(ci, $"MLP {d}->{h}->{d} GELU, AdamW, MSE, batch {b}, {device} in {precision}; {blocks} alternating blocks of {block} steps per device after warm-up"));
        Console.WriteLine(string.Create(ci, $"{"device",-8} {"median ms",10} {"best ms",10}"));
        Console.WriteLine(string.Create(ci, $"{"cpu",-8} {Median(tc) * 1e3,10:F2} {tc.Min() * 1e3,10:F2}"));
        Console.WriteLine(string.Create(ci, $"{device,-8} {Median(tw) * 1e3,10:F2} {tw.Min() * 1e3,10:F2}   (first block incl. trace + compile: {firstWafer:F2} s)"));
        Console.WriteLine(string.Create(ci, $"simulated {device} step: {last!.Device.DeviceSeconds * 1e3:F4} ms ({last.Device.Mode}), {last.DeviceTflops:F2} TFLOP/s, {last.PercentOfPeak:F2}% of peak"));
        Console.WriteLine(string.Create(ci, $"host time ratio {device}/cpu: median {Median(tw) / Median(tc):F3}x, median of per-block ratios {Median(ratios):F3}x  (goal <= 1.3)"));
        return 0;
    }
}
