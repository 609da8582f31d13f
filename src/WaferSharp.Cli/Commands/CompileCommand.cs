using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary><c>wafer compile</c> (placeholder until its issue lands).</summary>
public static class CompileCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("compile", "Compile a model onto a wafer. (not yet available)");
        cmd.SetAction(_ => { Console.Error.WriteLine("error: 'wafer compile' is not available yet"); return 2; });
        return cmd;
    }
}
