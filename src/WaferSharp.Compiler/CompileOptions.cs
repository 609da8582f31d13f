using WaferSharp.Hardware;

namespace WaferSharp.Compiler;

/// <summary>Execution mode.</summary>
public enum ExecutionMode
{
    /// <summary>Pick what fits and is faster, and say why.</summary>
    Auto,
    /// <summary>All weights resident; each kernel has its own region; micro-batches stream through the pipeline.</summary>
    Pipelined,
    /// <summary>Activations resident; each kernel uses the whole wafer in turn; weights stream in from weight memory.</summary>
    WeightStreaming,
}

/// <summary>What to compile for.</summary>
public sealed record CompileOptions
{
    /// <summary>The wafer.</summary>
    public required WaferSpec Wafer { get; init; }
    /// <summary>Systems (data parallel in weight streaming; wafers to pipeline an inference model across).</summary>
    public int Systems { get; init; } = 1;
    /// <summary>Mode.</summary>
    public ExecutionMode Mode { get; init; } = ExecutionMode.Auto;
    /// <summary>Precision.</summary>
    public Precision Precision { get; init; } = Precision.Bf16;
    /// <summary>Dead PEs (null = none).</summary>
    public DefectMap? Defects { get; init; }
    /// <summary>Sequence length, for tokens/s (null for models without one).</summary>
    public int? SeqLen { get; init; }
    /// <summary>Cost-model overrides (null = derived from the wafer and precision).</summary>
    public CostParams? Cost { get; init; }
    /// <summary>Skip laying routes (faster; for what-if sweeps).</summary>
    public bool SkipRouting { get; init; }
}

/// <summary>
/// Where the compiler gets graphs: the step traced at a given number of samples. Pipelined mode traces one
/// micro-batch, weight streaming one system's share of the batch, so kernel shapes are exact rather than scaled.
/// </summary>
public sealed class ModelSource
{
    /// <summary>Global batch (samples per step).</summary>
    public required int BatchSize { get; init; }
    /// <summary>The step graph at a number of samples.</summary>
    public required Func<int, Graph.Graph> Trace { get; init; }
    /// <summary>False when the graph has a fixed batch (e.g. an ONNX file): only <see cref="BatchSize"/> is traced.</summary>
    public bool Rebatchable { get; init; } = true;
    /// <summary>Inference: the one-token decode graph at a number of samples (attention then reads a KV cache of <see cref="CompileOptions.SeqLen"/>).</summary>
    public Func<int, Graph.Graph>? TraceDecode { get; init; }

    /// <summary>A source for one fixed graph.</summary>
    public static ModelSource Fixed(Graph.Graph g, int batchSize) => new() { BatchSize = batchSize, Trace = _ => g, Rebatchable = false };

    private readonly Dictionary<int, Graph.Graph> _cache = new();

    /// <summary>The graph at <paramref name="samples"/> (cached).</summary>
    public Graph.Graph At(int samples)
    {
        if (!Rebatchable) samples = BatchSize;
        if (!_cache.TryGetValue(samples, out var g)) _cache[samples] = g = Trace(samples);
        return g;
    }
}

/// <summary>The model does not fit the chosen mode; the message says by how much and what to do.</summary>
public sealed class ModelTooLargeException(string message) : InvalidOperationException(message);
