using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary><c>wafer quickstart</c>: the README's main command.</summary>
public static class QuickstartCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("quickstart", "Train the example MLP on the CPU reference device and show the loss falling.");
        cmd.SetAction(_ => { Console.WriteLine("quickstart: not yet wired"); return 0; });
        return cmd;
    }
}
