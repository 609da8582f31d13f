using WaferSharp.Tensors;

namespace WaferSharp.Graph.Execution;

/// <summary>
/// The CPU reference executor: interprets a graph node by node with the ops' reference kernels, freeing each
/// intermediate after its last use. Plans once per graph; <see cref="Run"/> may be called every step.
/// </summary>
public sealed class CpuExecutor
{
    private readonly Graph _graph;
    private readonly int[][] _freeAfter; // value ids whose last use is node i
    private readonly TensorType[][] _outTypes;
    private readonly bool[]?[] _donatable; // per node: which inputs die there (intermediates, or persistent values)

    /// <summary>Plans execution of <paramref name="graph"/>.</summary>
    public CpuExecutor(Graph graph)
    {
        _graph = graph;
        var keep = new HashSet<int>(graph.OutputList.Select(o => o.Value.Id).Concat(graph.UpdateList.Select(u => u.NewValue.Id)));
        var last = new Dictionary<int, int>();
        for (int i = 0; i < graph.NodeList.Count; i++)
            foreach (var v in graph.NodeList[i].Inputs)
                if (v.Kind == ValueKind.Node) last[v.Id] = i;
        var free = new List<int>[graph.NodeList.Count];
        for (int i = 0; i < free.Length; i++) free[i] = new List<int>();
        foreach (var (id, i) in last) if (!keep.Contains(id)) free[i].Add(id);
        _freeAfter = free.Select(l => l.ToArray()).ToArray();
        _outTypes = graph.NodeList.Select(n => n.Outputs.Select(o => o.Type).ToArray()).ToArray();
        // A value can be handed to its last user for reuse when nothing reads it afterwards: not an output,
        // not an update's new value, and (for parameters/state) only when the caller opts in.
        var lastUse = new Dictionary<Value, int>();
        for (int i = 0; i < graph.NodeList.Count; i++)
            foreach (var v in graph.NodeList[i].Inputs) lastUse[v] = i;
        var outVals = new HashSet<Value>(graph.OutputList.Select(o => o.Value).Concat(graph.UpdateList.Select(u => u.NewValue)));
        _donatable = new bool[]?[graph.NodeList.Count];
        for (int i = 0; i < graph.NodeList.Count; i++)
        {
            var n = graph.NodeList[i];
            bool[]? d = null;
            for (int k = 0; k < n.Inputs.Length; k++)
            {
                var v = n.Inputs[k];
                if (lastUse[v] != i || outVals.Contains(v) || Array.IndexOf(n.Inputs, v) != k) continue;
                if (v.Kind is ValueKind.Node or ValueKind.Parameter or ValueKind.State) (d ??= new bool[n.Inputs.Length])[k] = true;
            }
            _donatable[i] = d;
        }
    }

    /// <summary>
    /// Lets the last reader of a parameter or state value overwrite it in place (the optimizer update). The
    /// fed arrays then come back as the updated values. Off by default: callers that keep the fed arrays
    /// (to compare before and after) must not enable it.
    /// </summary>
    public bool DonatePersistentInputs { get; set; }

    /// <summary>The graph this executor runs.</summary>
    public Graph Graph => _graph;

    private readonly BufferPool _pool = new();

    /// <summary>Reuse intermediate buffers across nodes and runs (on by default).</summary>
    public bool PoolBuffers { get; set; } = true;

    /// <summary>Optional callback after each node (profiling, NaN checks).</summary>
    public Action<Node, DenseTensor[]>? AfterNode { get; set; }

    /// <summary>
    /// Runs the graph. <paramref name="feeds"/> maps every input, parameter and state value to data.
    /// Returns every output by name and the new values of updated parameters/state.
    /// </summary>
    public ExecutionResult Run(IReadOnlyDictionary<Value, DenseTensor> feeds)
    {
        var env = new DenseTensor?[_graph.AllValues.Count];
        foreach (var v in _graph.InputList.Concat(_graph.ParameterList).Concat(_graph.StateList))
        {
            if (!feeds.TryGetValue(v, out var t))
                throw new ArgumentException($"no value fed for {v.Kind.ToString().ToLowerInvariant()} '{v.Name}' ({v.Type})");
            if (t.DType != v.DType || t.Shape != v.Shape)
                throw new ArgumentException($"{v.Kind.ToString().ToLowerInvariant()} '{v.Name}' expects {v.Type}, was given {t.DType.ShortName()}{t.Shape}");
            env[v.Id] = t;
        }
        foreach (var c in _graph.ConstantList) env[c.Id] = c.Data;
        // Buffers that belong to the caller or the graph must never be recycled, even if an op passes one through.
        var foreign = new HashSet<Array>(ReferenceEqualityComparer.Instance);
        foreach (var t in env) if (t is not null) foreign.Add(t.Storage);
        var live = new Dictionary<Array, int>(ReferenceEqualityComparer.Instance);
        using var scope = PoolBuffers ? DenseTensor.UsePool(_pool) : null;
        var nodes = _graph.NodeList;
        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            var ins = new DenseTensor[n.Inputs.Length];
            for (int k = 0; k < ins.Length; k++) ins[k] = env[n.Inputs[k].Id] ?? throw new InvalidOperationException($"{n} input {k} was freed or never computed");
            DenseTensor[] outs;
            bool[]? donated = _donatable[i];
            if (donated is not null)
            {
                // Only a buffer nothing else can see may be overwritten: no other live value aliases it (a
                // reshape is a view), and it is not the caller's unless the caller opted in.
                donated = (bool[])donated.Clone();
                for (int k = 0; k < donated.Length; k++)
                {
                    if (!donated[k]) continue;
                    bool isNode = n.Inputs[k].Kind == ValueKind.Node;
                    var st = ins[k].Storage;
                    int aliases = live.GetValueOrDefault(st);
                    if (isNode ? aliases != 1 || foreign.Contains(st) : !DonatePersistentInputs || aliases != 0) donated[k] = false;
                }
            }
            try { outs = KernelInvoker.Run(n.Op, ins, n.Attrs, _outTypes[i], donated); }
            catch (Exception e) when (e is not OutOfMemoryException && n.Scope is not null && !e.Message.StartsWith("in ", StringComparison.Ordinal))
            { throw new InvalidOperationException($"in {n.Scope} ({n.Op.Name}): {e.Message}", e); }
            for (int k = 0; k < outs.Length; k++)
            {
                env[n.Outputs[k].Id] = outs[k];
                if (PoolBuffers) live[outs[k].Storage] = live.GetValueOrDefault(outs[k].Storage) + 1;
            }
            AfterNode?.Invoke(n, outs);
            foreach (var id in _freeAfter[i])
            {
                var t = env[id];
                env[id] = null;
                if (!PoolBuffers || t is null) continue;
                int refs = live.GetValueOrDefault(t.Storage) - 1;
                if (refs > 0) { live[t.Storage] = refs; continue; }
                live.Remove(t.Storage);
                if (!foreign.Contains(t.Storage)) _pool.Return(t.Storage);
            }
        }
        var outputs = new Dictionary<string, DenseTensor>();
        foreach (var (name, v) in _graph.OutputList) outputs[name] = env[v.Id]!;
        var updates = new Dictionary<Value, DenseTensor>();
        foreach (var (t, nv) in _graph.UpdateList) updates[t] = env[nv.Id]!;
        return new ExecutionResult(outputs, updates);
    }
}

/// <summary>Results of one graph run.</summary>
/// <param name="Outputs">Named outputs.</param>
/// <param name="Updates">New values for updated parameters and state.</param>
public sealed record ExecutionResult(IReadOnlyDictionary<string, DenseTensor> Outputs, IReadOnlyDictionary<Value, DenseTensor> Updates);
