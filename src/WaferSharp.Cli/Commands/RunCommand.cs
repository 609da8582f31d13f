using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary><c>wafer run</c> (placeholder until its issue lands).</summary>
public static class RunCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("run", "Run an ONNX model forward. (not yet available)");
        cmd.SetAction(_ => { Console.Error.WriteLine("error: 'wafer run' is not available yet"); return 2; });
        return cmd;
    }
}
