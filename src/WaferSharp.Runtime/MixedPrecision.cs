using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Runtime;

/// <summary>
/// Mixed precision as a graph rewrite, the way a wafer runs it: master weights, optimizer state and the update stay
/// float32; forward and backward read 16-bit copies of the weights and store every activation and gradient in 16 bits
/// (a Cast to bf16/fp16 and back — round to nearest even — after each op), while kernels accumulate in float32. The
/// backward seed dLoss/dLoss = 1 becomes the loss scale S (an input), and the gradients entering the optimizer are
/// divided by S. An output <see cref="OverflowOutput"/> (Σ 0·g over the gradients) is NaN exactly when a gradient
/// overflowed, so the runner can skip the step.
/// </summary>
public sealed class MixedPrecision
{
    /// <summary>Name of the loss-scale input.</summary>
    public const string LossScaleInput = "mp.loss_scale";
    /// <summary>Name of the overflow probe output.</summary>
    public const string OverflowOutput = "mp.overflow_probe";

    /// <summary>The rewritten graph.</summary>
    public Graph.Graph Graph { get; }
    /// <summary>Values of the original graph → values of the rewritten one (inputs, parameters, state, update targets).</summary>
    public IReadOnlyDictionary<Value, Value> Map { get; }
    /// <summary>Rewritten value → original (for the update targets).</summary>
    public IReadOnlyDictionary<Value, Value> Back { get; }
    /// <summary>The loss-scale input (null when the graph has no backward pass).</summary>
    public Value? LossScale { get; }
    /// <summary>Whether the graph has the overflow probe.</summary>
    public bool HasProbe { get; }
    /// <summary>The 16-bit type.</summary>
    public DType Half { get; }

    private MixedPrecision(Graph.Graph g, Dictionary<Value, Value> map, Dictionary<Value, Value> back, Value? scale, bool probe, DType half)
    { Graph = g; Map = map; Back = back; LossScale = scale; HasProbe = probe; Half = half; }

    private static bool IsUpdateScope(string? scope) =>
        scope is not null && (scope.StartsWith("optimizer", StringComparison.Ordinal) || scope.StartsWith("clip_grad_norm", StringComparison.Ordinal));

    /// <summary>Rewrites <paramref name="g"/> for <paramref name="half"/> (BFloat16 or Float16) compute.</summary>
    public static MixedPrecision Rewrite(Graph.Graph g, DType half)
    {
        if (half is not (DType.BFloat16 or DType.Float16)) throw new ArgumentException($"mixed precision needs bf16 or fp16, got {half}");
        var b = new GraphBuilder();
        var map = new Dictionary<Value, Value>();
        foreach (var v in g.Inputs) map[v] = b.Input(v.Name!, v.Type);
        foreach (var v in g.Parameters) map[v] = b.Parameter(v.Name!, v.Type);
        foreach (var v in g.States) map[v] = b.State(v.Name!, v.Type);
        foreach (var v in g.Constants) map[v] = b.Constant(v.Data!);
        var back = map.ToDictionary(kv => kv.Value, kv => kv.Key);

        Value? scale = null;
        var rounded = new Dictionary<Value, Value>();   // original parameter → its 16-bit copy
        var unscaled = new Dictionary<Value, Value>();  // rewritten gradient → gradient / S
        var probeTerms = new List<Value>();
        bool seedSeen = false;

        Value Round(Value v) => b.Cast(b.Cast(v, half), DType.Float32);
        Value Unscale(Value v)
        {
            if (scale is null) return v;
            if (!unscaled.TryGetValue(v, out var u)) { unscaled[v] = u = b.Div(v, scale); probeTerms.Add(u); }
            return u;
        }
        bool Compute(Node n) => !IsUpdateScope(n.Scope);

        foreach (var n in g.Nodes)
        {
            b.Scope = n.Scope;
            // Autodiff emits the seed (ones like the loss) first in the "backward" scope: it becomes the loss scale.
            if (!seedSeen && n.Scope == "backward" && n.Op.Name == "Full" && n.Outputs.Length == 1 && n.Output.Rank == 0)
            {
                seedSeen = true;
                scale = b.Input(LossScaleInput, new TensorType(DType.Float32, Shape.Scalar));
                map[n.Output] = scale;
                continue;
            }
            var ins = new Value[n.Inputs.Length];
            for (int i = 0; i < ins.Length; i++)
            {
                var src = n.Inputs[i];
                var v = map[src];
                if (Compute(n) && src.Kind == ValueKind.Parameter && src.DType == DType.Float32)
                {
                    if (!rounded.TryGetValue(src, out var r)) rounded[src] = r = Round(v);
                    v = r;
                }
                else if (!Compute(n) && src.Producer is { } p && Compute(p) && src.DType == DType.Float32)
                    v = Unscale(v); // a gradient leaving the backward pass for clipping or the optimizer
                else if (!Compute(n) && src.Kind == ValueKind.Input && src.Name!.StartsWith("grad.", StringComparison.Ordinal))
                    probeTerms.Add(v); // apply-only graphs: averaged gradients come in as inputs
                ins[i] = v;
            }
            var outs = b.Emit(n.Op, n.Attrs, ins);
            for (int i = 0; i < outs.Length; i++)
            {
                var o = outs[i];
                // 16-bit storage of activations and gradients; scalars (the loss, norms) stay float32 as on the host.
                if (Compute(n) && o.DType == DType.Float32 && o.Rank > 0 && n.Op.Name is not ("Cast" or "Reshape" or "Transpose"))
                    o = Round(o);
                map[n.Outputs[i]] = o;
            }
        }
        b.Scope = null;
        foreach (var (name, v) in g.Outputs)
            b.Output(name, name.StartsWith("grad.", StringComparison.Ordinal) ? Unscale(map[v]) : map[v]);
        foreach (var (t, nv) in g.Updates) b.Update(map[t], map[nv]);
        if (probeTerms.Count > 0)
        {
            Value? sum = null;
            foreach (var t in probeTerms)
            {
                var s = b.ReduceSum(b.Mul(t, b.Scalar(0f)), Enumerable.Range(0, t.Rank).ToArray(), false);
                sum = sum is null ? s : b.Add(sum, s);
            }
            b.Output(OverflowOutput, sum!);
        }
        return new MixedPrecision(b.Graph, map, back, scale, probeTerms.Count > 0, half);
    }
}

/// <summary>
/// Loss scaling. bf16 has float32's exponent range, so its scale is a constant 1 and no step is skipped. fp16 uses
/// PyTorch GradScaler's dynamic rule: start at 2^16; a step whose gradients overflow (inf/NaN) is skipped — weights
/// and optimizer state unchanged — and the scale halves; after <see cref="GrowthInterval"/> good steps in a row it doubles.
/// </summary>
public sealed class LossScaler(bool dynamic)
{
    /// <summary>Good steps before the scale doubles.</summary>
    public const int GrowthInterval = 2000;
    private int _good;

    /// <summary>Whether the scale adapts (fp16) or stays 1 (bf16).</summary>
    public bool Dynamic { get; } = dynamic;
    /// <summary>The current scale.</summary>
    public float Scale { get; private set; } = dynamic ? 65536f : 1f;
    /// <summary>Steps skipped because of overflow.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Records a step's outcome; returns true when the step must be skipped.</summary>
    public bool Update(bool overflow)
    {
        if (!Dynamic) return false;
        if (overflow)
        {
            Scale = Math.Max(Scale * 0.5f, 1f);
            _good = 0;
            SkippedSteps++;
            return true;
        }
        if (++_good >= GrowthInterval) { Scale *= 2f; _good = 0; }
        return false;
    }
}
