using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Training;

/// <summary>What a device reports about one run of a graph besides the numbers (simulated time for wafer devices).</summary>
/// <param name="DeviceSeconds">Time the device took (predicted or simulated); null when only host time is known.</param>
/// <param name="PeakFlopsPerSecond">The device's peak, for % of peak; null when unknown.</param>
/// <param name="Mode">Execution mode (e.g. "reference", "layer-pipelined", "weight-streaming").</param>
public sealed record DeviceRunInfo(double? DeviceSeconds, double? PeakFlopsPerSecond, string Mode);

/// <summary>What a runner's graph is within a training step (wafer devices time whole steps).</summary>
public enum DeviceRole
{
    /// <summary>The whole step (forward, backward, update) — or an evaluation / inference graph.</summary>
    Step,
    /// <summary>Forward and backward of one shard or micro-batch; its time is counted in the <see cref="Apply"/> runner's step.</summary>
    Partial,
    /// <summary>The optimizer update after the partial runs; reports the whole step's time (from <see cref="DeviceContext.StepGraphFactory"/>).</summary>
    Apply,
}

/// <summary>How a graph will be run: systems, fidelity, precision, batch and role. Devices that ignore a setting refuse it.</summary>
public sealed record DeviceContext
{
    /// <summary>The defaults (one system, fast fidelity, fp32, whole steps).</summary>
    public static DeviceContext Default { get; } = new();
    /// <summary>Simulated systems (data parallel).</summary>
    public int Systems { get; init; } = 1;
    /// <summary>"fast" or "cycle".</summary>
    public string Fidelity { get; init; } = "fast";
    /// <summary>"fp32", "bf16" or "fp16".</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Role of the graph in the step.</summary>
    public DeviceRole Role { get; init; } = DeviceRole.Step;
    /// <summary>For <see cref="DeviceRole.Apply"/>: builds the whole step at the global batch, used only for timing.</summary>
    public Func<Graph.Graph>? StepGraphFactory { get; init; }
    /// <summary>Samples in one run of the step graph (the global batch per micro-batch).</summary>
    public int StepBatch { get; init; }
    /// <summary>Micro-batches (gradient accumulation) per update: the step graph runs this many times per update.</summary>
    public int Microbatches { get; init; } = 1;
    /// <summary>Identifies the runners of one training run (the <see cref="Trainer"/>), so devices can share state between them (e.g. a loss scale).</summary>
    public object? Session { get; init; }
}

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

    private static readonly List<(Func<string, bool> Matches, Func<string, Graph.Graph, DeviceContext, IGraphRunner> Create, string Help)> ContextFactories = [];

    /// <summary>Adds a device family.</summary>
    public static void Register(Func<string, bool> matches, Func<string, Graph.Graph, IGraphRunner> create, string help)
    {
        lock (Factories) Factories.Insert(0, (matches, create, help));
    }

    /// <summary>Adds a device family whose runners see the <see cref="DeviceContext"/> (systems, fidelity, precision, role).</summary>
    public static void Register(Func<string, bool> matches, Func<string, Graph.Graph, DeviceContext, IGraphRunner> create, string help)
    {
        lock (Factories) ContextFactories.Insert(0, (matches, create, help));
    }

    /// <summary>Creates a runner for a graph on a device, or explains which devices exist.</summary>
    public static IGraphRunner Create(string device, Graph.Graph graph) => Create(device, graph, DeviceContext.Default);

    /// <summary>Creates a runner for a graph on a device in a context, or explains which devices exist.</summary>
    public static IGraphRunner Create(string device, Graph.Graph graph, DeviceContext context)
    {
        lock (Factories)
        {
            foreach (var f in ContextFactories)
                if (f.Matches(device)) return f.Create(device, graph, context);
            foreach (var f in Factories)
                if (f.Matches(device))
                {
                    // Devices without a context factory run fp32 at host speed; anything else would be silently ignored.
                    if (context.Precision != "fp32")
                        throw new ArgumentException($"device '{device}' runs fp32 only, not {context.Precision}; use a wafer device (wse3, wse2, mesh:WxH) for mixed precision");
                    if (context.Fidelity != "fast")
                        throw new ArgumentException($"device '{device}' has no '{context.Fidelity}' fidelity; --fidelity cycle is for mesh:WxH devices");
                    return f.Create(device, graph);
                }
            throw new ArgumentException($"unknown device '{device}'; available: {string.Join(", ", ContextFactories.Select(f => f.Help).Concat(Factories.Select(f => f.Help)))}");
        }
    }
}
