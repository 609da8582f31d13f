using WaferSharp.Tensors;

namespace WaferSharp.Tests;

/// <summary>Shared helpers: fixture paths and tolerant comparisons.</summary>
public static class TestUtil
{
    /// <summary>
    /// Runs `wafer ARGS` in-process through the real command tree and captures stdout/stderr. Console capture
    /// is process-wide: call it only from collections with DisableParallelization.
    /// </summary>
    public static (int Code, string Out, string Err) RunCli(params string[] args)
    {
        var root = new System.CommandLine.RootCommand("wafer");
        foreach (var c in WaferSharp.Cli.Commands.All()) root.Subcommands.Add(c);
        var oldOut = Console.Out; var oldErr = Console.Error;
        var o = new StringWriter(); var e = new StringWriter();
        Console.SetOut(o); Console.SetError(e);
        try { return (WaferSharp.Cli.CliErrors.Invoke(root, args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    public static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "fixtures", .. parts]);

    /// <summary>Asserts |a-b| ≤ tol + tol·|b| elementwise (b is the reference), with a message naming the worst element.</summary>
    public static void AssertClose(DenseTensor expected, DenseTensor actual, double tol, string what)
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape} != expected {expected.Shape}");
        var e = expected.ToFloatArray();
        var a = actual.ToFloatArray();
        double worst = 0; int wi = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs((double)a[i] - e[i]) - tol * Math.Abs(e[i]);
            if (double.IsNaN(a[i]) != double.IsNaN(e[i])) { err = double.PositiveInfinity; }
            else if (double.IsNaN(e[i])) continue;
            if (err > worst) { worst = err; wi = i; }
        }
        Assert.True(wi < 0 || worst <= tol, $"{what}: element {wi} is {(wi >= 0 ? a[wi] : 0)}, expected {(wi >= 0 ? e[wi] : 0)} (tol {tol})");
    }
}
