using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Training;

/// <summary>
/// The traced training step as one graph: forward, loss, backward (autodiff), optional global-norm clipping,
/// and the optimizer update. Parameters and optimizer slots are persistent values with updates; the batch,
/// the dropout seed and the optimizer's host scalars are inputs.
/// </summary>
public sealed class TrainStep
{
    /// <summary>The step graph.</summary>
    public Graph.Graph Graph { get; }
    /// <summary>Input batch value.</summary>
    public Value? X { get; }
    /// <summary>Target batch value.</summary>
    public Value? Y { get; }
    /// <summary>Per-step seed (drives dropout masks).</summary>
    public Value? Seed { get; }
    /// <summary>Optimizer scalar inputs, in <see cref="Optimizer.ScalarNames"/> order.</summary>
    public Value[] Scalars { get; }
    /// <summary>Each trained parameter and its value.</summary>
    public IReadOnlyList<(Parameter Parameter, string Name, Value Value, Value[] Slots)> Params { get; }
    /// <summary>Frozen parameters (state values) and their values.</summary>
    public IReadOnlyList<(Parameter Parameter, Value Value)> Frozen { get; }

    private TrainStep(Graph.Graph g, Value? x, Value? y, Value? seed, Value[] scalars,
        List<(Parameter, string, Value, Value[])> ps, List<(Parameter, Value)> frozen)
    { Graph = g; X = x; Y = y; Seed = seed; Scalars = scalars; Params = ps; Frozen = frozen; }

    /// <summary>What a traced step contains.</summary>
    public enum Kind
    {
        /// <summary>Forward, loss, backward and optimizer update (one training step).</summary>
        Train,
        /// <summary>Forward, loss and backward; gradients as outputs "grad.NAME" (for accumulation).</summary>
        Gradients,
        /// <summary>Forward and loss only (evaluation).</summary>
        Forward,
    }

    /// <summary>Traces <paramref name="model"/> with <paramref name="loss"/> into a step graph.</summary>
    public static TrainStep Build(Module model, Optimizer optimizer, Func<Module, Tensor, Tensor, Tensor> loss,
        TensorType xType, TensorType yType, Kind kind = Kind.Train, double? clipGradNorm = null)
    {
        var names = Tracer.NamesOf(model);
        using var tr = new Tracer(names);
        var b = tr.Builder;
        // Declare parameters in module order so the graph's parameter order is stable.
        foreach (var (_, p) in model.NamedParameters()) tr.Declare(p);
        var x = tr.Input("x", xType);
        var y = tr.Input("y", yType);
        var seed = tr.ValueOf(tr.StepSeed);
        var l = loss(model, x, y);
        if (l.Rank != 0) throw new ShapeException($"the loss must be a scalar, got shape {l.Shape}");
        b.Output("loss", tr.ValueOf(l));

        var (ps, frozen) = Split(tr.ParameterValues, optimizer);
        Value[] scalars = [];
        if (ps.Count > 0 && kind != Kind.Forward)
        {
            b.Scope = "backward";
            var grads = Autodiff.Grad(b, tr.ValueOf(l), ps.Select(q => q.Item3).ToArray());
            b.Scope = null;
            if (kind == Kind.Train) scalars = EmitUpdate(b, optimizer, ps, grads, clipGradNorm);
            else for (int i = 0; i < ps.Count; i++) b.Output("grad." + ps[i].Item2, grads[i]);
        }
        // Autodiff leaves dead nodes (e.g. the gradient of a constant scale): pruned once here, so every device runs and
        // every compiler sees the same graph, and nobody needs to prune a graph another component already executes.
        WaferSharp.Graph.Passes.DeadCodeElimination.Run(b.Graph);
        return new TrainStep(b.Graph, tr.ValueOf(x), tr.ValueOf(y), seed, scalars, ps, frozen);
    }

    /// <summary>The optimizer update alone: gradients are inputs "grad.NAME" (used with gradient accumulation).</summary>
    public static TrainStep BuildApply(Module model, Optimizer optimizer, double? clipGradNorm = null)
    {
        var names = Tracer.NamesOf(model);
        using var tr = new Tracer(names);
        var b = tr.Builder;
        foreach (var (_, p) in model.NamedParameters()) tr.Declare(p);
        var (ps, frozen) = Split(tr.ParameterValues, optimizer);
        var grads = ps.Select(q => b.Input("grad." + q.Item2, q.Item3.Type)).ToArray();
        var scalars = EmitUpdate(b, optimizer, ps, grads, clipGradNorm);
        var step = new TrainStep(b.Graph, null, null, null, scalars, ps, frozen) { GradInputs = grads };
        return step;
    }

    /// <summary>Gradient inputs of an apply-only step, in <see cref="Params"/> order.</summary>
    public Value[] GradInputs { get; private init; } = [];

    private static (List<(Parameter, string, Value, Value[])>, List<(Parameter, Value)>) Split(IReadOnlyDictionary<Parameter, Value> values, Optimizer optimizer)
    {
        var trainable = new HashSet<Parameter>(optimizer.Params, (IEqualityComparer<Parameter>)ReferenceEqualityComparer.Instance);
        var ps = new List<(Parameter, string, Value, Value[])>();
        var frozen = new List<(Parameter, Value)>();
        foreach (var (p, v) in values)
        {
            if (v.Kind == ValueKind.Parameter && trainable.Contains(p)) ps.Add((p, v.Name!, v, []));
            else frozen.Add((p, v));
        }
        return (ps, frozen);
    }

    // Clipping (PyTorch's clip_grad_norm_) and the optimizer's per-parameter update; returns the scalar inputs.
    private static Value[] EmitUpdate(GraphBuilder b, Optimizer optimizer, List<(Parameter, string, Value, Value[])> ps, Value[] grads, double? clipGradNorm)
    {
        if (clipGradNorm is { } maxNorm)
        {
            b.Scope = "clip_grad_norm";
            Value? sq = null;
            foreach (var g in grads)
            {
                var s = b.ReduceSum(b.Mul(g, g), Enumerable.Range(0, g.Rank).ToArray(), false);
                sq = sq is null ? s : b.Add(sq, s);
            }
            var norm = b.Op("Sqrt", sq!);
            b.Output("grad_norm", norm);
            var coef = b.Op("Minimum", b.Div(b.Scalar((float)maxNorm), b.Add(norm, b.Scalar(1e-6f))), b.Scalar(1f));
            grads = grads.Select(g => b.Mul(g, coef)).ToArray();
        }
        b.Scope = "optimizer";
        var scalars = optimizer.ScalarNames.Select(n => b.Input("optim." + n, new TensorType(DType.Float32, Shape.Scalar))).ToArray();
        for (int i = 0; i < ps.Count; i++)
        {
            var (p, name, v, _) = ps[i];
            var slots = optimizer.StateSlots.Select(s => b.State($"optim.{name}.{s}", v.Type)).ToArray();
            var (np, nslots) = optimizer.EmitUpdate(b, v, grads[i], slots, scalars);
            b.Update(v, np);
            for (int k = 0; k < slots.Length; k++) b.Update(slots[k], nslots[k]);
            ps[i] = (p, name, v, slots);
        }
        b.Scope = null;
        return scalars;
    }

    /// <summary>Feeds for one run: batch, seed, scalars, parameters and optimizer state.</summary>
    public Dictionary<Value, DenseTensor> Feeds(Optimizer optimizer, Batch? batch, long seed, float[] scalars)
    {
        var f = new Dictionary<Value, DenseTensor>();
        if (X is not null && batch is { } bt)
        {
            if (bt.X.DType != X.DType || bt.X.Shape != X.Shape)
                throw new ArgumentException($"batch inputs are {bt.X.DType.ShortName()}{bt.X.Shape} but the step was traced for {X.Type}; use a fixed batch size (drop-last) so every batch has one shape");
            f[X] = bt.X; f[Y!] = bt.Y;
        }
        if (Seed is not null) f[Seed] = DenseTensor.Scalar(seed);
        for (int i = 0; i < Scalars.Length; i++) f[Scalars[i]] = DenseTensor.Scalar(scalars[i]);
        foreach (var (p, _, v, slots) in Params)
        {
            f[v] = p.Data;
            if (slots.Length == 0) continue;
            var st = optimizer.StateOf(p);
            for (int k = 0; k < slots.Length; k++) f[slots[k]] = st[k];
        }
        foreach (var (p, v) in Frozen) f[v] = p.Data;
        return f;
    }
}
