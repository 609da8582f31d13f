using System.Diagnostics;
using WaferSharp.Cli;
using WaferSharp.Compiler;
using WaferSharp.Hardware;

namespace WaferSharp.Bench;

/// <summary>
/// Compile time and peak memory of the graph compiler on large models:
/// <c>dotnet run -c Release --project bench/WaferSharp.Bench -- compile [--repeat N]</c>. Cases: zoo:gpt2-xl
/// layer-pipelined inference (weights pinned) and training (weights, master copies and Adam state resident),
/// and zoo:gpt3-175b weight-streaming (training, batch 8) onto wse3.
/// The peer in the same run is tracing the graph alone, so the ratio says how much the compiler adds to tracing.
/// </summary>
public static class CompileBench
{
    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        int repeat = args.Length >= 2 && args[0] == "--repeat" ? int.Parse(args[1]) : 3;
        var cases = new (string Model, ExecutionMode Mode, bool Inference, int Batch)[]
        {
            ("zoo:gpt2-xl", ExecutionMode.Pipelined, true, 1),
            ("zoo:gpt2-xl", ExecutionMode.Pipelined, false, 1),
            ("zoo:gpt3-175b", ExecutionMode.WeightStreaming, false, 8),
        };
        Console.WriteLine("case                                  trace (s)  compile incl. trace (s)  ratio  peak working set (MB)  step (ms)");
        foreach (var (model, mode, inference, batch) in cases)
        {
            double best = double.MaxValue, bestTrace = double.MaxValue, step = 0;
            for (int r = 0; r < repeat; r++)
            {
                var sw = Stopwatch.StartNew();
                var (traceOnly, _, _) = CompileCommand.BuildSource(model, batch, null, inference);
                traceOnly.At(mode == ExecutionMode.WeightStreaming ? batch : 1);
                bestTrace = Math.Min(bestTrace, sw.Elapsed.TotalSeconds);
                sw.Restart();
                var (src, seq, _) = CompileCommand.BuildSource(model, batch, null, inference);
                var prog = WaferCompiler.Compile(src, new CompileOptions { Wafer = WaferSpec.Wse3, Mode = mode, SeqLen = seq }, inference);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                step = prog.StepTimeS * 1e3;
            }
            long peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20); // of the process so far (cases run in this order)
            string name = $"{model} {(mode == ExecutionMode.Pipelined ? "pipelined" : "weight-streaming")} {(inference ? "infer" : "train")} b{batch}";
            Console.WriteLine($"{name,-38}{bestTrace,9:0.000}  {best,23:0.000}  {best / bestTrace,5:0.00}  {peak,21}  {step,9:0.###}");
        }
        return 0;
    }
}
