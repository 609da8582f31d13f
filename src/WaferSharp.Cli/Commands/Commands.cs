using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary>The verbs of <c>wafer</c>, in help order.</summary>
public static class Commands
{
    /// <summary>Every top-level command.</summary>
    public static IEnumerable<Command> All()
    {
        yield return QuickstartCommand.Create();
        yield return ZooCommand.Create();
        yield return RunCommand.Create();        // issue 3 (ONNX)
        yield return TrainCommand.Create();      // issue 3 (ONNX)
        yield return ExportCommand.Create();     // issue 3 (ONNX)
        yield return OpsCommand.Create();        // issue 3 (ONNX)
        yield return CompileCommand.Create();    // issue 4 (compiler)
        yield return GpuPlanCommand.Create();    // issue 5 (GPU planner)
        yield return GpuInferCommand.Create();   // issue 5 (GPU planner)
        yield return SimulateCommand.Create();   // issue 6 (fabric simulator)
        yield return CompareCommand.Create();    // issue 8 (compare)
        yield return GenerateCommand.Create();   // issue 7 (wafer runtime)
    }
}
