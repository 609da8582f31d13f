using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Graph.Passes;
using WaferSharp.Onnx.Proto;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>
/// Translates an ONNX graph into the WaferSharp graph IR for concrete input types. Floating-point initializers
/// become named parameters; integer and boolean initializers and <c>Constant</c> nodes become constants. Any
/// node whose inputs are all constants is evaluated while importing, so shape subgraphs
/// (Shape → Gather → Unsqueeze → Concat → Reshape) fold into static attributes and the graph has static shapes.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Imports <paramref name="model"/> for the given input types (checked against the declared inputs).</summary>
    /// <exception cref="OnnxUnsupportedOperatorException">The model uses operators not in <see cref="OnnxOpTable.Supported"/>.</exception>
    /// <exception cref="InvalidDataException">The graph is inconsistent (a node's shapes or types do not fit).</exception>
    public static ImportedGraph Import(OnnxModel model, IReadOnlyDictionary<string, TensorType> inputs)
    {
        CheckSupported(model);
        model.CheckInputs(inputs.ToDictionary(kv => kv.Key, kv => (kv.Value.DType, kv.Value.Shape)));
        var ctx = new Context(model);
        var g = model.Proto.Graph;
        foreach (var i in model.Inputs) ctx.Env[i.Name] = ctx.B.Input(i.Name, inputs[i.Name]);
        foreach (var n in g.Node)
        {
            var ins = new Value?[n.Input.Count];
            for (int k = 0; k < ins.Length; k++) ins[k] = n.Input[k].Length == 0 ? null : ctx.Get(n.Input[k]);
            var node = new OnnxNode(n, ins, ctx);
            ctx.B.Scope = node.Label;
            Value?[] outs;
            try { outs = OnnxOpTable.Map(node); }
            catch (Exception e) when (e is ShapeException or ArgumentException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or OverflowException or InvalidCastException)
            {
                throw new InvalidDataException($"{model.Source}: node '{node.Label}' ({n.OpType}) cannot be imported: {e.Message.Replace('\n', ' ')}");
            }
            for (int k = 0; k < n.Output.Count && k < outs.Length; k++)
                if (n.Output[k].Length > 0 && outs[k] is { } v) ctx.Env[n.Output[k]] = v;
            for (int k = outs.Length; k < n.Output.Count; k++)
                if (n.Output[k].Length > 0 && ctx.IsUsed(n.Output[k])) throw node.Bad($"output {k} ('{n.Output[k]}') is not supported");
        }
        ctx.B.Scope = null;
        foreach (var o in model.Outputs)
        {
            var v = ctx.Get(o.Name);
            if (o.Dims is not null && (o.Dims.Length != v.Rank || o.Dims.Where((d, i) => d is int s && s != v.Shape[i]).Any()))
                throw new InvalidDataException($"{model.Source}: output '{o.Name}' is declared {o} but the graph computes {v.Type}");
            ctx.B.Output(o.Name, v);
        }
        DeadCodeElimination.Run(ctx.B.Graph);
        return new ImportedGraph(model, ctx.B.Graph, ctx.ParamValues);
    }

    /// <summary>Imports with every input's declared shape (all dims must be fixed).</summary>
    public static ImportedGraph Import(OnnxModel model) =>
        Import(model, model.Inputs.ToDictionary(i => i.Name, i => i.Dims is { } d && d.All(x => x is not null)
            ? new TensorType(i.DType, new Shape(d.Select(x => x!.Value)))
            : throw new ArgumentException($"input '{i.Name}' of {model.Source} has symbolic dims ({i}); give concrete input shapes")));

    /// <summary>Throws the once-per-type report when any node's operator is not supported.</summary>
    public static void CheckSupported(OnnxModel model)
    {
        var bad = new Dictionary<string, List<string>>();
        foreach (var n in model.Proto.Graph.Node)
        {
            string key = n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}::{n.OpType}";
            if (n.Domain is "" or "ai.onnx" && OnnxOpTable.Supported.ContainsKey(n.OpType)) continue;
            if (!bad.TryGetValue(key, out var l)) bad[key] = l = new List<string>();
            l.Add(OnnxModel.NodeLabel(n));
        }
        if (bad.Count > 0) throw new OnnxUnsupportedOperatorException(model.Source, bad);
    }

    /// <summary>Import state: the builder, ONNX name → IR value, use counts.</summary>
    internal sealed class Context
    {
        private readonly OnnxModel _model;
        private readonly Dictionary<string, int> _uses = new();

        public Context(OnnxModel model)
        {
            _model = model;
            foreach (var n in model.Proto.Graph.Node) foreach (var i in n.Input) _uses[i] = _uses.GetValueOrDefault(i) + 1;
            foreach (var o in model.Outputs) _uses[o.Name] = _uses.GetValueOrDefault(o.Name) + 1;
        }

        public GraphBuilder B { get; } = new();
        public Dictionary<string, Value> Env { get; } = new();
        public Dictionary<string, DenseTensor> ParamValues { get; } = new();
        public string Source => _model.Source;
        public string? BaseDir => _model.BaseDir;
        public int Opset => _model.Opset;

        public bool IsUsed(string name) => _uses.ContainsKey(name);
        /// <summary>Number of node inputs and graph outputs that read an ONNX value.</summary>
        public int UseCount(string name) => _uses.GetValueOrDefault(name);

        /// <summary>An ONNX value; initializers are declared on first use (float → parameter, others → constant).</summary>
        public Value Get(string name)
        {
            if (Env.TryGetValue(name, out var v)) return v;
            if (_model.Initializers.TryGetValue(name, out var data))
            {
                if (data.DType.IsFloating())
                {
                    v = B.Parameter(name, new TensorType(data.DType, data.Shape));
                    ParamValues[name] = data;
                }
                else v = B.Constant(data);
                Env[name] = v;
                return v;
            }
            throw new InvalidDataException($"{Source}: value '{name}' is used but never defined");
        }

        /// <summary>Emits an op, or evaluates it now when every input is a constant (constant folding while importing).</summary>
        public Value[] Emit(string op, Attrs? attrs, params Value[] ins)
        {
            var def = OpRegistry.Get(op);
            attrs ??= Attrs.Empty;
            if (def.IsPure && ins.All(v => v.Kind == ValueKind.Constant && v.Data is not null))
            {
                var outs = KernelInvoker.Run(def, ins.Select(v => v.Data!).ToArray(), attrs);
                var r = new Value[outs.Length];
                for (int i = 0; i < r.Length; i++)
                {
                    var d = outs[i];
                    if (ins.Any(v => ReferenceEquals(v.Data!.Storage, d.Storage))) d = d.Clone();
                    r[i] = B.Constant(d);
                }
                return r;
            }
            return B.Emit(def, attrs, ins);
        }

        public Value Op(string op, Attrs? attrs, params Value[] ins) => Emit(op, attrs, ins)[0];
        public Value Op(string op, params Value[] ins) => Emit(op, null, ins)[0];
        public Value Const(DenseTensor t) => B.Constant(t);
        public Value Scalar(double x, DType dtype) => B.Scalar(x, dtype);
    }
}
