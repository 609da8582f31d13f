using WaferSharp.Compiler;
using WaferSharp.Fabric.Programs;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Hardware;
using WaferSharp.Runtime;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Fabric;

/// <summary>bf16 training steps (the runtime's mixed-precision rewrite) as whole programs on the fabric simulator.</summary>
public class MixedPrecisionProgramTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Bf16MlpStepOnMesh32EqualsTheCpuReferenceOfTheRewrittenGraph()
    {
        var (g0, feeds0) = ProgramRunnerTests.MlpStep(8, 16, 32);
        // weights from a private generator: the module's init draws from the shared default generator, which tests
        // running in parallel also advance, and bf16 results are compared value for value
        var rng = new Generator(11);
        foreach (var p in g0.Parameters) { var w = DenseTensor.Zeros(p.Shape); rng.FillNormal(w.AsFloat(), 0, 0.3f); feeds0[p] = w; }
        var mp = MixedPrecision.Rewrite(g0, DType.BFloat16);
        var g = mp.Graph;
        var feeds = new Dictionary<Value, DenseTensor>();
        foreach (var (v, t) in feeds0) feeds[mp.Map[v]] = t;
        feeds[mp.LossScale!] = DenseTensor.FromArray([1f]).Reshape([]);
        var spec = WaferSpec.Parse("mesh:32x32");
        var prog = WaferCompiler.Compile(g, 8, new CompileOptions { Wafer = spec, Precision = Precision.Bf16 });
        var cpu = new CpuExecutor(g).Run(feeds);
        var run = new WaferProgramRunner(g, prog, spec).Run(feeds);
        // every op's result is rounded to bf16, so a last-bit fp32 difference (summation order) can move a value by one
        // bf16 step (2^-8 relative): bf16 tolerance is a few such steps
        foreach (var (name, t) in cpu.Outputs)
            output.WriteLine($"{name}: {FabricTestUtil.RelErr(run.Result.Outputs[name].AsFloat32().AsFloat().ToArray(), t.AsFloat32().AsFloat().ToArray()):G3}");
        foreach (var (v, t) in cpu.Updates)
            output.WriteLine($"{v.Name}: {FabricTestUtil.RelErr(run.Result.Updates[v].AsFloat().ToArray(), t.AsFloat().ToArray()):G3}");
        ProgramRunnerTests.AssertClose(cpu, run.Result, 1.0 / 64);
        output.WriteLine($"bf16 step: {run.Cycles} simulated, {run.PredictedCycles:F0} predicted ({100 * run.RelativeError:+0.0;-0.0} %)");
        Assert.Empty(run.HostComputed);
        Assert.Contains(run.Kernels, k => k.Family == "Gemm" && k.SimulatedCycles > 0);
    }
}
