using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>
/// An ONNX model as a trainable <see cref="Module"/>: every floating-point initializer is a
/// <see cref="Parameter"/> named after it, and <see cref="Forward(Tensor)"/> replays the imported graph through
/// the front end, so the <c>Trainer</c> traces it, autodiff differentiates it and the optimizers update it like
/// any C# model. The graph is imported once per input type (shapes are static) and cached.
/// </summary>
public sealed class OnnxModule : Module
{
    private readonly Dictionary<TensorType, ImportedGraph> _graphs = new();
    private readonly Dictionary<string, Parameter> _params = new(StringComparer.Ordinal);
    private readonly Dictionary<DenseTensor, Tensor> _constants = new(ReferenceEqualityComparer.Instance);

    /// <summary>Wraps a loaded model (single-input models can use <see cref="Forward(Tensor)"/>).</summary>
    public OnnxModule(OnnxModel model)
    {
        Model = model;
        OnnxImporter.CheckSupported(model);
        foreach (var name in model.FloatInitializerNames)
            _params[name] = RegisterParameter(name, new Parameter(model.Initializers[name].Clone()));
    }

    /// <summary>The source model.</summary>
    public OnnxModel Model { get; }

    /// <summary>Parameters by initializer name.</summary>
    public IReadOnlyDictionary<string, Parameter> ParametersByName => _params;

    /// <summary>The imported graph for one input type (cached).</summary>
    public ImportedGraph GraphFor(TensorType input)
    {
        if (Model.Inputs.Count != 1) throw new ArgumentException($"{Model.Source} has {Model.Inputs.Count} inputs; Forward(Tensor) needs a model with exactly one");
        if (!_graphs.TryGetValue(input, out var g))
            _graphs[input] = g = OnnxImporter.Import(Model, new Dictionary<string, TensorType> { [Model.Inputs[0].Name] = input });
        return g;
    }

    /// <summary>The model's first output for input <paramref name="x"/> (eager, or recorded while tracing).</summary>
    public override Tensor Forward(Tensor x)
    {
        var g = GraphFor(x.Type);
        using var scope = Scope();
        if (!x.IsSymbolic && Tracer.Current is null)
        {
            var outs = g.Run(new Dictionary<string, DenseTensor> { [Model.Inputs[0].Name] = x.Data }, _params.ToDictionary(kv => kv.Key, kv => kv.Value.Data));
            return new Tensor(outs[g.Graph.Outputs[0].Name]);
        }
        var tracer = Tracer.Current ?? throw new InvalidOperationException("symbolic input outside a trace");
        return Replay(tracer, g, x);
    }

    private Tensor Replay(Tracer tracer, ImportedGraph g, Tensor x)
    {
        // Re-emit the imported nodes into the current trace: the input becomes x, parameters the module's
        // Parameters (so the trace names them from NamedParameters), constants eager tensors (trace constants).
        var env = new Dictionary<Value, Value>();
        env[g.Graph.Inputs[0]] = tracer.ValueOf(x);
        foreach (var p in g.Graph.Parameters) env[p] = tracer.ValueOf(_params[p.Name!]);
        foreach (var c in g.Graph.Constants)
        {
            if (!_constants.TryGetValue(c.Data!, out var t)) _constants[c.Data!] = t = new Tensor(c.Data!);
            env[c] = tracer.ValueOf(t);
        }
        var b = tracer.Builder;
        string? saved = b.Scope;
        try
        {
            foreach (var n in g.Graph.Nodes)
            {
                var ins = new Value[n.Inputs.Length];
                for (int i = 0; i < ins.Length; i++) ins[i] = env[n.Inputs[i]];
                b.Scope = n.Scope;
                var outs = b.Emit(n.Op, n.Attrs, ins);
                for (int i = 0; i < outs.Length; i++) env[n.Outputs[i]] = outs[i];
            }
        }
        finally { b.Scope = saved; }
        return tracer.Wrap(env[g.Graph.Outputs[0].Value]);
    }

    /// <summary>Current parameter values by initializer name (references, not copies).</summary>
    public Dictionary<string, DenseTensor> Weights() => _params.ToDictionary(kv => kv.Key, kv => kv.Value.Data);
}
