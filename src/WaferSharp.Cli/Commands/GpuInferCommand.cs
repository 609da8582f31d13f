using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary><c>wafer gpu-infer</c> (placeholder until its issue lands).</summary>
public static class GpuInferCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("gpu-infer", "Plan inference on GPUs. (not yet available)");
        cmd.SetAction(_ => { Console.Error.WriteLine("error: 'wafer gpu-infer' is not available yet"); return 2; });
        return cmd;
    }
}
