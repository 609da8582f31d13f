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
    }
}
