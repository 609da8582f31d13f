using System.CommandLine;
using WaferSharp.Cli;

namespace WaferSharp.Tests.Compiler;

public class CompileCommandTests
{
    private static int Wafer(params string[] args)
    {
        var root = new RootCommand();
        foreach (var c in Commands.All()) root.Subcommands.Add(c);
        return CliErrors.Invoke(root, args);
    }

    [Fact]
    public void CompilesAZooModelAndWritesJsonAndReport()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"compile-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "plan.json"), html = Path.Combine(dir, "plan.html");
            Assert.Equal(0, Wafer("compile", "zoo:mlp", "--device", "mesh:64x64", "--batch-size", "4", "--defect-rate", "0.002", "--seed", "3", "--json", json, "--report", html));
            var prog = WaferSharp.Compiler.WaferProgram.FromJson(File.ReadAllText(json));
            Assert.Equal("mesh:64x64", prog.Device);
            Assert.True(prog.Fabric.DefectivePes > 0);
            Assert.Contains("<svg", File.ReadAllText(html));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BadInputIsAUserError()
    {
        Assert.Equal(2, Wafer("compile", "zoo:mlp", "--device", "tpu9"));
        Assert.Equal(2, Wafer("compile", "zoo:nope"));
        Assert.Equal(2, Wafer("compile", "model.txt"));
        Assert.Equal(2, Wafer("compile", "zoo:mlp", "--mode", "fast"));
        Assert.Equal(2, Wafer("compile", "zoo:gpt2-xl", "--device", "mesh:16x16", "--mode", "pipelined"));
    }
}
