using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary><c>wafer gpu-plan</c> (placeholder until its issue lands).</summary>
public static class GpuPlanCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("gpu-plan", "Plan training on a GPU cluster. (not yet available)");
        cmd.SetAction(_ => { Console.Error.WriteLine("error: 'wafer gpu-plan' is not available yet"); return 2; });
        return cmd;
    }
}
