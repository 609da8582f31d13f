using WaferSharp.Tensors;

namespace WaferSharp.Graph;

/// <summary>
/// A typed dataflow graph in the spirit of a jaxpr: inputs, parameters, state, constants, nodes in
/// topological order, named outputs, and state updates (persistent values a step writes back, such as
/// parameters after the optimizer update). One training step is one graph.
/// </summary>
public sealed class Graph
{
    internal readonly List<Value> AllValues = new();
    internal readonly List<Node> NodeList = new();
    internal readonly List<Value> InputList = new();
    internal readonly List<Value> ParameterList = new();
    internal readonly List<Value> StateList = new();
    internal readonly List<Value> ConstantList = new();
    internal readonly List<(string Name, Value Value)> OutputList = new();
    internal readonly List<(Value Target, Value NewValue)> UpdateList = new();
    internal int NextNodeId;

    /// <summary>Per-step inputs in declaration order.</summary>
    public IReadOnlyList<Value> Inputs => InputList;
    /// <summary>Trainable parameters in declaration order.</summary>
    public IReadOnlyList<Value> Parameters => ParameterList;
    /// <summary>Persistent non-trainable state (e.g. optimizer moments).</summary>
    public IReadOnlyList<Value> States => StateList;
    /// <summary>Constants.</summary>
    public IReadOnlyList<Value> Constants => ConstantList;
    /// <summary>Nodes in a topological order.</summary>
    public IReadOnlyList<Node> Nodes => NodeList;
    /// <summary>Named outputs.</summary>
    public IReadOnlyList<(string Name, Value Value)> Outputs => OutputList;
    /// <summary>Persistent values (parameters or state) and the value they take after one run.</summary>
    public IReadOnlyList<(Value Target, Value NewValue)> Updates => UpdateList;

    /// <summary>Finds an input, parameter or state by name.</summary>
    public Value? Find(string name) =>
        InputList.Concat(ParameterList).Concat(StateList).FirstOrDefault(v => v.Name == name);

    /// <summary>Looks up an output by name.</summary>
    public Value Output(string name) =>
        OutputList.FirstOrDefault(o => o.Name == name).Value ?? throw new KeyNotFoundException($"graph has no output '{name}'");

    /// <summary>Total FLOPs and bytes of all nodes (from each op's cost rule).</summary>
    public OpCost TotalCost()
    {
        var c = new OpCost();
        foreach (var n in NodeList) c += NodeCost(n);
        return c;
    }

    /// <summary>Cost of one node.</summary>
    public static OpCost NodeCost(Node n) =>
        n.Op.Cost(n.Inputs.Select(v => v.Type).ToArray(), n.Outputs.Select(v => v.Type).ToArray(), n.Attrs);

    /// <summary>Bytes held by parameters (0 storage is needed for shape-only graphs; this is the logical size).</summary>
    public long ParameterBytes => ParameterList.Sum(p => p.Type.Bytes);

    /// <summary>Number of scalar parameters.</summary>
    public long ParameterCount => ParameterList.Sum(p => p.Type.Numel);

    /// <summary>Users of each value (computed on demand).</summary>
    public Dictionary<Value, List<Node>> Users()
    {
        var d = new Dictionary<Value, List<Node>>();
        foreach (var n in NodeList)
            foreach (var v in n.Inputs)
            {
                if (!d.TryGetValue(v, out var l)) d[v] = l = new List<Node>();
                l.Add(n);
            }
        return d;
    }

    /// <summary>The printed form (see <see cref="GraphPrinter"/>).</summary>
    public override string ToString() => GraphPrinter.Print(this);

    /// <summary>Checks structural invariants: topological order, types match op rules, updates match targets.</summary>
    public void Validate()
    {
        var defined = new HashSet<Value>(InputList.Concat(ParameterList).Concat(StateList).Concat(ConstantList));
        foreach (var n in NodeList)
        {
            foreach (var v in n.Inputs)
                if (!defined.Contains(v)) throw new InvalidOperationException($"node {n} uses {v} before it is defined");
            var types = n.Op.InferTypes(n.Inputs.Select(v => v.Type).ToArray(), n.Attrs);
            for (int i = 0; i < types.Length; i++)
                if (types[i] != n.Outputs[i].Type) throw new InvalidOperationException($"node {n} output {i} is {n.Outputs[i].Type} but its rule gives {types[i]}");
            foreach (var o in n.Outputs) defined.Add(o);
        }
        foreach (var (name, v) in OutputList)
            if (!defined.Contains(v)) throw new InvalidOperationException($"output {name} is not defined in the graph");
        foreach (var (t, nv) in UpdateList)
        {
            if (t.Kind is not (ValueKind.Parameter or ValueKind.State)) throw new InvalidOperationException($"update target {t} is not a parameter or state");
            if (t.Type != nv.Type) throw new InvalidOperationException($"update of {t} has type {nv.Type}");
        }
    }
}
