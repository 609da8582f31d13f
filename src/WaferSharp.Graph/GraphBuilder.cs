using WaferSharp.Tensors;

namespace WaferSharp.Graph;

/// <summary>Appends values and nodes to a <see cref="Graph"/>, inferring types as it goes. Also the vocabulary gradient rules are written in.</summary>
public sealed class GraphBuilder
{
    /// <summary>Builds a new graph.</summary>
    public GraphBuilder() : this(new Graph()) { }

    /// <summary>Appends to an existing graph (e.g. autodiff adding the backward pass).</summary>
    public GraphBuilder(Graph graph) => Graph = graph;

    /// <summary>The graph under construction.</summary>
    public Graph Graph { get; }

    /// <summary>Scope label stamped on new nodes (module path), for messages and reports.</summary>
    public string? Scope { get; set; }

    private Value NewValue(TensorType t, ValueKind k, string? name, Node? producer = null, int index = 0, DenseTensor? data = null)
    {
        var v = new Value(Graph.AllValues.Count, t, k, name, producer, index, data);
        Graph.AllValues.Add(v);
        return v;
    }

    private void CheckName(string name)
    {
        if (Graph.Find(name) is not null) throw new ArgumentException($"graph already has an input, parameter or state named '{name}'");
    }

    /// <summary>Declares a per-step input.</summary>
    public Value Input(string name, TensorType type) { CheckName(name); var v = NewValue(type, ValueKind.Input, name); Graph.InputList.Add(v); return v; }
    /// <summary>Declares a trainable parameter.</summary>
    public Value Parameter(string name, TensorType type) { CheckName(name); var v = NewValue(type, ValueKind.Parameter, name); Graph.ParameterList.Add(v); return v; }
    /// <summary>Declares persistent state.</summary>
    public Value State(string name, TensorType type) { CheckName(name); var v = NewValue(type, ValueKind.State, name); Graph.StateList.Add(v); return v; }
    /// <summary>Adds a constant (data is kept; keep constants small — use <see cref="Full"/> for large fills).</summary>
    public Value Constant(DenseTensor data) { var v = NewValue(new TensorType(data.DType, data.Shape), ValueKind.Constant, null, data: data); Graph.ConstantList.Add(v); return v; }
    /// <summary>A rank-0 float32 constant.</summary>
    public Value Scalar(float x) => Constant(DenseTensor.Scalar(x));
    /// <summary>A rank-0 constant of the given dtype.</summary>
    public Value Scalar(double x, DType dtype) { var t = DenseTensor.Zeros(Shape.Scalar, dtype); t.SetDouble(0, x); return Constant(t); }

    /// <summary>Names a graph output.</summary>
    public void Output(string name, Value v)
    {
        if (Graph.OutputList.Any(o => o.Name == name)) throw new ArgumentException($"graph already has an output named '{name}'");
        Graph.OutputList.Add((name, v));
    }

    /// <summary>Records that persistent <paramref name="target"/> becomes <paramref name="newValue"/> after a run.</summary>
    public void Update(Value target, Value newValue)
    {
        if (target.Type != newValue.Type) throw new ShapeException($"update of '{target.Name}' ({target.Type}) with a value of type {newValue.Type}");
        Graph.UpdateList.Add((target, newValue));
    }

    /// <summary>Emits a node and returns all its outputs.</summary>
    public Value[] Emit(string op, Attrs? attrs, params Value[] inputs) => Emit(OpRegistry.Get(op), attrs ?? Attrs.Empty, inputs);

    /// <summary>Emits a node and returns all its outputs.</summary>
    public Value[] Emit(OpDef op, Attrs attrs, Value[] inputs)
    {
        TensorType[] types;
        try { types = op.InferTypes(inputs.Select(v => v.Type).ToArray(), attrs); }
        catch (ShapeException e) when (Scope is not null) { throw new ShapeException($"in {Scope}: {e.Message}"); }
        var node = new Node(Graph.NextNodeId++, op, inputs, attrs) { Scope = Scope };
        var outs = new Value[types.Length];
        for (int i = 0; i < types.Length; i++) outs[i] = NewValue(types[i], ValueKind.Node, null, node, i);
        node.Outputs = outs;
        Graph.NodeList.Add(node);
        return outs;
    }

    /// <summary>Emits a single-output node.</summary>
    public Value Op(string op, Attrs? attrs, params Value[] inputs)
    {
        var o = Emit(op, attrs, inputs);
        return o.Length == 1 ? o[0] : throw new InvalidOperationException($"{op} has {o.Length} outputs; use Emit");
    }

    /// <summary>Emits a single-output node without attributes.</summary>
    public Value Op(string op, params Value[] inputs) => Op(op, null, inputs);

    // ---- the vocabulary gradient rules and layers use ----
    /// <summary>a + b (broadcasting).</summary>
    public Value Add(Value a, Value b) => Op("Add", a, b);
    /// <summary>a - b.</summary>
    public Value Sub(Value a, Value b) => Op("Sub", a, b);
    /// <summary>a * b.</summary>
    public Value Mul(Value a, Value b) => Op("Mul", a, b);
    /// <summary>a / b.</summary>
    public Value Div(Value a, Value b) => Op("Div", a, b);
    /// <summary>-a.</summary>
    public Value Neg(Value a) => Op("Neg", a);
    /// <summary>a * s for a float scalar s.</summary>
    public Value Scale(Value a, float s) => Mul(a, a.DType == DType.Float32 ? Scalar(s) : Scalar(s, a.DType));
    /// <summary>torch.matmul.</summary>
    public Value MatMul(Value a, Value b) => Op("MatMul", a, b);
    /// <summary>Permutes axes.</summary>
    public Value Transpose(Value a, params int[] perm) => Op("Transpose", Attrs.Of(("perm", perm)), a);
    /// <summary>Swaps the last two axes.</summary>
    public Value TransposeLast2(Value a)
    {
        var p = Enumerable.Range(0, a.Rank).ToArray();
        (p[^1], p[^2]) = (p[^2], p[^1]);
        return Transpose(a, p);
    }
    /// <summary>Reshape (one dim may be -1).</summary>
    public Value Reshape(Value a, params int[] shape) => a.Shape.Dims.SequenceEqual(shape) ? a : Op("Reshape", Attrs.Of(("shape", shape)), a);
    /// <summary>Sum over axes.</summary>
    public Value ReduceSum(Value a, int[] axes, bool keepDims) => Op("ReduceSum", Attrs.Of(("axes", axes), ("keepdims", keepDims)), a);
    /// <summary>Mean over axes.</summary>
    public Value ReduceMean(Value a, int[] axes, bool keepDims) => Op("ReduceMean", Attrs.Of(("axes", axes), ("keepdims", keepDims)), a);
    /// <summary>Broadcasts to a shape.</summary>
    public Value Expand(Value a, Shape shape) => a.Shape == shape ? a : Op("Expand", Attrs.Of(("shape", shape.ToArray())), a);
    /// <summary>Converts dtype.</summary>
    public Value Cast(Value a, DType to) => a.DType == to ? a : Op("Cast", Attrs.Of(("to", to.ShortName())), a);
    /// <summary>A tensor of the given type filled with a value (no data stored in the graph).</summary>
    public Value Full(TensorType t, double value) => Op("Full", Attrs.Of(("shape", t.Shape.ToArray()), ("value", value), ("dtype", t.DType.ShortName())));
    /// <summary>Zeros shaped like v.</summary>
    public Value ZerosLike(Value v) => Full(v.Type, 0);
    /// <summary>Ones shaped like v.</summary>
    public Value OnesLike(Value v) => Full(v.Type, 1);

    /// <summary>
    /// Sums a broadcast gradient back to <paramref name="target"/> (the reverse of NumPy broadcasting):
    /// leading extra axes and axes where the target has size 1 are summed.
    /// </summary>
    public Value SumTo(Value g, Shape target)
    {
        if (g.Shape == target) return g;
        int lead = g.Rank - target.Rank;
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (target[i - lead] == 1 && g.Shape[i] != 1)) axes.Add(i);
        var r = axes.Count > 0 ? ReduceSum(g, axes.ToArray(), keepDims: true) : g;
        return Reshape(r, target.ToArray());
    }
}
