using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>
/// An ONNX model translated for concrete input types: the IR graph (inputs named as in the ONNX file,
/// parameters named after their initializers, outputs named as the ONNX outputs) and the initial parameter values.
/// </summary>
public sealed class ImportedGraph
{
    private CpuExecutor? _exec;

    internal ImportedGraph(OnnxModel model, Graph.Graph graph, IReadOnlyDictionary<string, DenseTensor> parameters)
    {
        Model = model; Graph = graph; Parameters = parameters;
    }

    /// <summary>The source model.</summary>
    public OnnxModel Model { get; }
    /// <summary>The IR graph.</summary>
    public Graph.Graph Graph { get; }
    /// <summary>Initial values of the graph's parameters, by name (the floating-point initializers it uses).</summary>
    public IReadOnlyDictionary<string, DenseTensor> Parameters { get; }

    /// <summary>Feeds for a run: inputs by ONNX name, parameters from <paramref name="weights"/> or the initializers.</summary>
    public Dictionary<Value, DenseTensor> Feeds(IReadOnlyDictionary<string, DenseTensor> inputs, IReadOnlyDictionary<string, DenseTensor>? weights = null)
    {
        var f = new Dictionary<Value, DenseTensor>();
        foreach (var v in Graph.Inputs)
            f[v] = inputs.TryGetValue(v.Name!, out var t) ? t : throw new ArgumentException($"input '{v.Name}' ({v.Type}) is not given");
        foreach (var p in Graph.Parameters)
            f[p] = weights is not null && weights.TryGetValue(p.Name!, out var w) ? w : Parameters[p.Name!];
        return f;
    }

    /// <summary>Runs the forward pass on the CPU reference executor; returns every graph output by name.</summary>
    public IReadOnlyDictionary<string, DenseTensor> Run(IReadOnlyDictionary<string, DenseTensor> inputs, IReadOnlyDictionary<string, DenseTensor>? weights = null)
    {
        _exec ??= new CpuExecutor(Graph);
        return _exec.Run(Feeds(inputs, weights)).Outputs;
    }
}
