using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary><c>wafer train</c> (placeholder until its issue lands).</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("train", "Train an ONNX model. (not yet available)");
        cmd.SetAction(_ => { Console.Error.WriteLine("error: 'wafer train' is not available yet"); return 2; });
        return cmd;
    }
}
