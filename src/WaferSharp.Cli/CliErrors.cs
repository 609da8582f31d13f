using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary>
/// Runs the parsed command and turns user errors into one line on stderr and exit code 1 (2 for
/// unsupported input), never a stack trace. Internal errors keep their trace.
/// </summary>
public static class CliErrors
{
    /// <summary>Thrown by commands for a user-facing error with a chosen exit code.</summary>
    public sealed class UserError(string message, int exitCode = 1) : Exception(message)
    {
        /// <summary>Process exit code.</summary>
        public int ExitCode { get; } = exitCode;
    }

    /// <summary>Parses and invokes; returns the exit code.</summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        try
        {
            var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
            return root.Parse(args).Invoke(config);
        }
        catch (Exception e)
        {
            var (msg, code) = Classify(e);
            if (msg is null) throw;
            Console.Error.WriteLine($"error: {msg}");
            return code;
        }
    }

    /// <summary>Maps user-facing exception types to a message and exit code; null message for internal bugs.</summary>
    public static (string? Message, int Code) Classify(Exception e) => e switch
    {
        UserError u => (u.Message, u.ExitCode),
        NotSupportedException n => (n.Message, 2),
        FileNotFoundException f => ($"file not found: {f.FileName ?? f.Message}", 1),
        DirectoryNotFoundException d => (d.Message, 1),
        InvalidDataException d => (d.Message, 1),
        KeyNotFoundException k => (k.Message.Trim('\''), 1),
        ArgumentException a => (a.Message, 1),
        InvalidOperationException i => (i.Message, 1),
        IOException io => (io.Message, 1),
        UnauthorizedAccessException u => (u.Message, 1),
        _ => (null, 70),
    };
}
