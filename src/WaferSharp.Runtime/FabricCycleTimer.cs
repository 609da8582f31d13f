using WaferSharp.Compiler;
using WaferSharp.Fabric.Programs;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Runtime;

/// <summary>
/// <c>--fidelity cycle</c>: times a compiled step by running the whole <see cref="WaferProgram"/> on the cycle-level
/// fabric simulator (<see cref="WaferProgramRunner"/>). The simulator's cycle counts do not depend on the data, so the
/// step runs once per compiled program on deterministic synthetic feeds; the training numerics stay the CPU
/// executor's (the runner's own outputs equal them within float32 rounding, as the Fabric tests check).
/// </summary>
public sealed class FabricCycleTimer : ICycleTimer
{
    /// <summary>The last run (per-kernel cycles, route cycles), for reports.</summary>
    public ProgramRun? LastRun { get; private set; }

    /// <inheritdoc/>
    public CycleTiming Time(WaferProgram program, Graph.Graph graph, WaferSpec wafer)
    {
        var run = new WaferProgramRunner(graph, program, wafer) { ReuseIdenticalRuns = true }.Run(SyntheticFeeds(graph));
        LastRun = run;
        return new CycleTiming(run.Cycles, run.Cycles / wafer.ClockHz, program.Mode + " (cycle)");
    }

    /// <summary>Deterministic feeds for every input, parameter and state: floats in [0, 1) (non-negative, so second moments stay valid), integers 0.</summary>
    public static Dictionary<Value, DenseTensor> SyntheticFeeds(Graph.Graph graph, ulong seed = 7)
    {
        var g = new Generator(seed);
        var feeds = new Dictionary<Value, DenseTensor>();
        foreach (var v in graph.Inputs.Concat(graph.Parameters).Concat(graph.States))
        {
            var t = DenseTensor.Zeros(v.Shape, v.DType);
            if (v.DType == DType.Float32) g.FillUniform(t.AsFloat(), 0, 1);
            else if (v.DType is DType.Float16 or DType.BFloat16) { var f = DenseTensor.Zeros(v.Shape); g.FillUniform(f.AsFloat(), 0, 1); t = f.To(v.DType); }
            feeds[v] = t;
        }
        return feeds;
    }
}
