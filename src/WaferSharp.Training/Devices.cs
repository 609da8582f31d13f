using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Training;

/// <summary>What a device reports about one run of a graph besides the numbers (simulated time for wafer devices).</summary>
/// <param name="DeviceSeconds">Time the device took (predicted or simulated); null when only host time is known.</param>
/// <param name="PeakFlopsPerSecond">The device's peak, for % of peak; null when unknown.</param>
/// <param name="Mode">Execution mode (e.g. "reference", "layer-pipelined", "weight-streaming").</param>
public sealed record DeviceRunInfo(double? DeviceSeconds, double? PeakFlopsPerSecond, string Mode);

/// <summary>Runs one compiled graph repeatedly on a device.</summary>
public interface IGraphRunner
{
    /// <summary>Device name as the user wrote it ("cpu", "wse3", "mesh:8x8").</summary>
    string Device { get; }
    /// <summary>Runs the graph once.</summary>
    ExecutionResult Run(IReadOnlyDictionary<Value, DenseTensor> feeds);
    /// <summary>Timing of the last run.</summary>
    DeviceRunInfo LastRun { get; }
}

/// <summary>The CPU reference device: the graph interpreter with the ops' reference kernels.</summary>
public sealed class CpuRunner(Graph.Graph graph) : IGraphRunner
{
    // Parameters and optimizer state are updated in place by the fused optimizer ops.
    private readonly CpuExecutor _exec = new(graph) { DonatePersistentInputs = true };
    /// <inheritdoc/>
    public string Device => "cpu";
    /// <inheritdoc/>
    public ExecutionResult Run(IReadOnlyDictionary<Value, DenseTensor> feeds) => _exec.Run(feeds);
    /// <inheritdoc/>
    public DeviceRunInfo LastRun { get; } = new(null, null, "reference");
}

/// <summary>
/// Device registry. "cpu" is built in; higher layers (the wafer runtime) register theirs, so the training
/// program stays the same and only <c>TrainerConfig.Device</c> changes.
/// </summary>
public static class Devices
{
    private static readonly List<(Func<string, bool> Matches, Func<string, Graph.Graph, IGraphRunner> Create, string Help)> Factories =
        [(d => d == "cpu", (_, g) => new CpuRunner(g), "cpu")];

    /// <summary>Adds a device family.</summary>
    public static void Register(Func<string, bool> matches, Func<string, Graph.Graph, IGraphRunner> create, string help)
    {
        lock (Factories) Factories.Insert(0, (matches, create, help));
    }

    /// <summary>Creates a runner for a graph on a device, or explains which devices exist.</summary>
    public static IGraphRunner Create(string device, Graph.Graph graph)
    {
        lock (Factories)
            foreach (var f in Factories)
                if (f.Matches(device)) return f.Create(device, graph);
        throw new ArgumentException($"unknown device '{device}'; available: {string.Join(", ", Factories.Select(f => f.Help))}");
    }
}
