using WaferSharp.Compiler;
using WaferSharp.Hardware;

namespace WaferSharp.Runtime;

/// <summary>Device time of one step from a cycle-level simulation.</summary>
/// <param name="Cycles">Simulated fabric cycles of one step.</param>
/// <param name="Seconds">Cycles divided by the clock.</param>
/// <param name="Mode">Execution mode as the simulator ran it (e.g. "layer-pipelined (cycle)").</param>
public sealed record CycleTiming(double Cycles, double Seconds, string Mode);

/// <summary>
/// The hook for <c>--fidelity cycle</c>: times a compiled <see cref="WaferProgram"/> cycle by cycle on a small
/// <c>mesh:WxH</c> fabric. The cycle-level fabric simulator (src/WaferSharp.Fabric) implements it and registers
/// itself with <see cref="WaferRuntime.RegisterCycleTimer"/>; numerics still come from the functional executor.
/// </summary>
public interface ICycleTimer
{
    /// <summary>Simulates one run of <paramref name="program"/> (compiled from <paramref name="graph"/>) on <paramref name="wafer"/>.</summary>
    CycleTiming Time(WaferProgram program, Graph.Graph graph, WaferSpec wafer);
}
