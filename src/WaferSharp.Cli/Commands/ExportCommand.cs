using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary><c>wafer export</c> (placeholder until its issue lands).</summary>
public static class ExportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("export", "Export a trained model to ONNX. (not yet available)");
        cmd.SetAction(_ => { Console.Error.WriteLine("error: 'wafer export' is not available yet"); return 2; });
        return cmd;
    }
}
