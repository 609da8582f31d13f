using System.CommandLine;

namespace WaferSharp.Cli;

/// <summary>
/// Runs the parsed command. Exit codes: 0 ok, 2 user error (bad input, unsupported operator, model too large —
/// one line on stderr naming the thing and the fix, never a stack trace), 1 internal error (a bug: the
/// message and its stack trace, so it can be reported).
/// </summary>
public static class CliErrors
{
    /// <summary>Thrown by commands for a user-facing error with a chosen exit code.</summary>
    public sealed class UserError(string message, int exitCode = 2) : Exception(message)
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
            if (msg is null)
            {
                Console.Error.WriteLine($"internal error: {e}");
                return 1;
            }
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
        DirectoryNotFoundException d => (d.Message, 2),
        InvalidDataException d => (d.Message, 2),
        KeyNotFoundException k => (k.Message.Trim('\''), 2),
        ArgumentException a => (a.Message, 2),
        InvalidOperationException i => (i.Message, 2),
        IOException io => (io.Message, 2),
        UnauthorizedAccessException u => (u.Message, 2),
        _ => (null, 1),
    };
}
