using WaferSharp.Bench;

// Benchmark dispatcher: dotnet run -c Release --project bench/WaferSharp.Bench -- <benchmark> [options]
string which = args.Length > 0 ? args[0] : "";
string[] rest = args.Length > 1 ? args[1..] : [];
switch (which)
{
    case "gemm":
        return GemmBench.Run(rest);
    case "train-step":
        return TrainStepBench.Run(rest);
    case "compile":
        return CompileBench.Run(rest);
    case "gemm-shapes":
        return TrainStepGemmShapes.Run(rest);
    case "train-step-profile":
        return TrainStepProfile.Run(rest);
    case "onnx-run":
        return OnnxRunBench.Run(rest);
    case "simulate":
        return SimulateBench.Run(rest);
    case "wafer-step":
        return WaferStepBench.Run(rest);
    default:
        Console.Error.WriteLine("usage: WaferSharp.Bench <benchmark> [options]");
        Console.Error.WriteLine("  gemm   float32 GEMM vs torch.matmul (see GemmBench.cs for options)");
        Console.Error.WriteLine("  onnx-run     `wafer run` forward latency of the GPT-style ONNX model vs ONNX Runtime (see OnnxRunBench.cs)");
        Console.Error.WriteLine("  train-step   one MLP training step (fwd, bwd, AdamW) vs PyTorch (see TrainStepBench.cs)");
        Console.Error.WriteLine("  simulate     fabric simulator PE-cycles/s on a 64x64 GEMM vs CPU Sgemm; --wse3 adds a wse3 allreduce (see SimulateBench.cs)");
        Console.Error.WriteLine("  wafer-step   host time per MLP training step on wse3 (fast fidelity) vs cpu (see WaferStepBench.cs)");
        Console.Error.WriteLine("  compile   compile zoo:gpt2-xl pipelined and zoo:gpt3-175b weight-streaming onto wse3 (see CompileBench.cs)");
        return which.Length == 0 ? 0 : 2;
}
