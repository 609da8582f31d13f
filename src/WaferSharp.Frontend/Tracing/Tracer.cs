using System.Runtime.CompilerServices;
using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp;

/// <summary>
/// Records the ops run on symbolic tensors into a graph, the way lazy-tensor tracing captures a PyTorch step.
/// Parameters touched during the trace become graph parameters (trainable) or state (frozen), named from
/// the module's <c>NamedParameters()</c>; eager tensors used with symbolic ones become constants.
/// Create it with <c>using var t = new Tracer(...)</c>; it is the current tracer of this thread until disposed.
/// </summary>
public sealed class Tracer : IDisposable
{
    [ThreadStatic] private static Tracer? t_current;
    private readonly Tracer? _previous;
    private readonly Dictionary<Parameter, Value> _params = new(ReferenceEqualityComparer.Instance);
    private readonly ConditionalWeakTable<DenseTensor, Value> _consts = new();
    private readonly IReadOnlyDictionary<Parameter, string> _names;
    private bool _disposed;

    /// <summary>Starts tracing on this thread. <paramref name="parameterNames"/> names parameters (usually <c>model.NamedParameters()</c>).</summary>
    public Tracer(IReadOnlyDictionary<Parameter, string>? parameterNames = null, GraphBuilder? builder = null)
    {
        _names = parameterNames ?? new Dictionary<Parameter, string>();
        Builder = builder ?? new GraphBuilder();
        _previous = t_current;
        t_current = this;
    }

    /// <summary>Names parameters from a module (convenience).</summary>
    public static Dictionary<Parameter, string> NamesOf(Module m) =>
        m.NamedParameters().ToDictionary(p => p.Parameter, p => p.Name, (IEqualityComparer<Parameter>)ReferenceEqualityComparer.Instance);

    /// <summary>The tracer active on this thread, if any.</summary>
    public static Tracer? Current => t_current;

    /// <summary>The builder of the graph being recorded.</summary>
    public GraphBuilder Builder { get; }
    /// <summary>The graph being recorded.</summary>
    public Graph.Graph Graph => Builder.Graph;

    /// <summary>Parameters seen so far and their graph values, in order of first use.</summary>
    public IReadOnlyDictionary<Parameter, Value> ParameterValues => _params;

    /// <summary>Declares a graph input and returns the symbolic tensor standing for it.</summary>
    public Tensor Input(string name, TensorType type) => new(Builder.Input(name, type), this);

    private Tensor? _stepSeed;

    /// <summary>
    /// The per-step random seed (an int64 scalar graph input named "rng_seed", created on first use). Dropout
    /// mixes it with each layer's own id, so a graph traced once still draws new masks every step.
    /// </summary>
    public Tensor StepSeed => _stepSeed ??= Input("rng_seed", new TensorType(DType.Int64, Shape.Scalar));

    /// <summary>Wraps a graph value as a symbolic tensor of this trace.</summary>
    public Tensor Wrap(Value v) => new(v, this);

    /// <summary>Declares a parameter up front (so its order in the graph follows the module, not first use).</summary>
    public Value Declare(Parameter p) => ValueOf(p);

    /// <summary>The graph value for any tensor: its symbol, its parameter value, or a new constant.</summary>
    public Value ValueOf(Tensor t)
    {
        if (t.Symbol is not null)
        {
            if (!ReferenceEquals(t.Tracer, this)) throw new InvalidOperationException($"symbolic tensor {t.Type} belongs to another trace; tensors cannot cross traces");
            return t.Symbol;
        }
        if (t is Parameter p)
        {
            if (_params.TryGetValue(p, out var v)) return v;
            string name = _names.TryGetValue(p, out var n) ? n : $"param{_params.Count}";
            v = p.RequiresGrad ? Builder.Parameter(name, p.Type) : Builder.State(name, p.Type);
            _params[p] = v;
            return v;
        }
        var data = t.Data;
        if (_consts.TryGetValue(data, out var c)) return c;
        c = Builder.Constant(data);
        _consts.Add(data, c);
        return c;
    }

    /// <summary>Stops tracing (restores the previous tracer).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        t_current = _previous;
    }
}
