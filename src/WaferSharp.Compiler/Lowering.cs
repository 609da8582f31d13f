using WaferSharp.Compiler.Kernels;
using WaferSharp.Graph;
using WaferSharp.Graph.Passes;

namespace WaferSharp.Compiler;

/// <summary>A graph lowered to kernel tasks and the dependencies between them.</summary>
public sealed class LoweredGraph
{
    /// <summary>Tasks in a topological order.</summary>
    public required List<KernelTask> Tasks { get; init; }
    /// <summary>Producer→consumer edges between tasks (one per consumer input value).</summary>
    public required List<TaskEdge> Edges { get; init; }
    /// <summary>True when the graph has state updates (a training step).</summary>
    public bool IsTraining { get; init; }
    /// <summary>Total FLOPs of the graph (model FLOPs of one step).</summary>
    public double Flops { get; init; }
    /// <summary>Bytes of graph inputs (the batch) and outputs at the compute precision: what crosses the host link per step.</summary>
    public long HostBytes { get; init; }
    /// <summary>Parameter values of the graph.</summary>
    public required IReadOnlyList<Value> Parameters { get; init; }
    /// <summary>Persistent state values of the graph.</summary>
    public required IReadOnlyList<Value> States { get; init; }
}

/// <summary>
/// Graph → kernel tasks: pure views alias their input, forward attention blocks (Q·Kᵀ [·scale] [+mask] → softmax → ·V)
/// become one Attention kernel, elementwise fusion groups (<see cref="ElementwiseFusion"/>) become one fused-chain
/// kernel each, every other node one kernel of its family. Phases: forward = ancestors of the "loss" output (or of all
/// outputs), optimizer = update kernels, backward = the rest.
/// </summary>
public static class Lowering
{
    /// <summary>
    /// Lowers <paramref name="g"/>. A graph no pass has prepared yet (no fusion marks) first loses its dead nodes
    /// (<see cref="DeadCodeElimination"/>: e.g. autodiff's gradient of attention's constant scale, whose operand
    /// would otherwise be stashed and whose kernel would run every step) and gets its elementwise fusion marks.
    /// </summary>
    public static LoweredGraph Lower(Graph.Graph g, CostParams p)
    {
        if (!g.Nodes.Any(n => n.FusionGroup >= 0))
        {
            DeadCodeElimination.Run(g);
            ElementwiseFusion.Run(g);
        }
        var alias = new Dictionary<Value, Value>();
        Value Resolve(Value v) { while (alias.TryGetValue(v, out var s)) v = s; return v; }
        foreach (var n in g.Nodes)
            if (KernelLibrary.IsView(n)) alias[n.Outputs[0]] = n.Inputs[0];

        var users = new Dictionary<Value, List<Node>>();
        foreach (var n in g.Nodes)
            foreach (var v in n.Inputs)
            {
                var r = Resolve(v);
                if (!users.TryGetValue(r, out var l)) users[r] = l = new List<Node>();
                l.Add(n);
            }

        var claimed = new Dictionary<Node, int>(); // node → attention match index
        var matches = new List<List<Node>>();
        foreach (var n in g.Nodes)
        {
            if (n.Op.Name != "Softmax" || claimed.ContainsKey(n)) continue;
            var m = MatchAttention(n, Resolve, users);
            if (m is null || m.Any(claimed.ContainsKey)) continue;
            foreach (var x in m) claimed[x] = matches.Count;
            matches.Add(m);
        }

        var tasks = new List<KernelTask>();
        var taskOf = new Dictionary<Node, int>();
        var groupTask = new Dictionary<int, int>();
        var groups = ElementwiseFusion.FusionGroups(g).ToDictionary(x => x.Id);
        var attentionTask = new Dictionary<int, int>();
        foreach (var n in g.Nodes)
        {
            if (KernelLibrary.IsView(n)) continue;
            if (claimed.TryGetValue(n, out int mi))
            {
                if (!attentionTask.TryGetValue(mi, out int at))
                {
                    attentionTask[mi] = at = tasks.Count;
                    tasks.Add(AttentionTask(at, matches[mi], p));
                }
                taskOf[n] = at;
                continue;
            }
            if (n.FusionGroup >= 0 && groups.TryGetValue(n.FusionGroup, out var grp) && grp.Nodes.All(x => !claimed.ContainsKey(x)))
            {
                if (!groupTask.TryGetValue(n.FusionGroup, out int gt))
                {
                    groupTask[n.FusionGroup] = gt = tasks.Count;
                    tasks.Add(FusedTask(gt, grp, p));
                }
                taskOf[n] = gt;
                continue;
            }
            var (kernel, work) = KernelLibrary.For(n, p);
            taskOf[n] = tasks.Count;
            tasks.Add(new KernelTask
            {
                Id = tasks.Count, Name = Label(n), Op = n.Op.Name, Kernel = kernel, Work = work, Nodes = [n],
                Flops = Graph.Graph.NodeCost(n).Flops,
            });
        }

        OrderTasks(tasks, taskOf, Resolve);

        // inputs, params, states, edges
        var edges = new List<TaskEdge>();
        foreach (var t in tasks)
        {
            var inside = new HashSet<Node>(t.Nodes);
            var seen = new HashSet<Value>();
            foreach (var n in t.Nodes)
                foreach (var v0 in n.Inputs)
                {
                    var v = Resolve(v0);
                    if (v.Producer is { } pr && inside.Contains(pr)) continue;
                    if (!seen.Add(v)) continue;
                    t.Inputs.Add(v);
                    switch (v.Kind)
                    {
                        case ValueKind.Parameter: t.Params.Add(v); break;
                        case ValueKind.State: t.States.Add(v); break;
                        case ValueKind.Node when v.Producer is { } prod && taskOf.TryGetValue(prod, out int from) && from != t.Id:
                            edges.Add(new TaskEdge(from, t.Id, v, p.Bytes(v.Type)));
                            break;
                    }
                }
        }

        // phases
        bool training = g.Updates.Count > 0;
        var forwardRoots = g.Outputs.Where(o => !training || o.Name == "loss").Select(o => Resolve(o.Value)).ToList();
        if (forwardRoots.Count == 0) forwardRoots = g.Outputs.Select(o => Resolve(o.Value)).ToList();
        var fwd = new HashSet<int>();
        var stack = new Stack<int>();
        foreach (var r in forwardRoots)
            if (r.Producer is { } pr && taskOf.TryGetValue(pr, out int ti) && fwd.Add(ti)) stack.Push(ti);
        var producersOf = tasks.Select(_ => new List<int>()).ToList();
        foreach (var e in edges) producersOf[e.To].Add(e.From);
        while (stack.Count > 0)
            foreach (int q in producersOf[stack.Pop()])
                if (fwd.Add(q)) stack.Push(q);
        foreach (var t in tasks)
            t.Phase = t.Kernel is OptimizerUpdateKernel ? Phase.Optimizer : (!training || fwd.Contains(t.Id) ? Phase.Forward : Phase.Backward);

        // weight gradients are consumed chunk by chunk by the fused optimizer update (no whole gradient is stored)
        var consumersOf = tasks.Select(_ => new List<int>()).ToList();
        foreach (var e in edges) consumersOf[e.From].Add(e.To);
        foreach (var t in tasks)
            if (t.Phase == Phase.Backward && t.Kernel is GemmKernel && consumersOf[t.Id].Count > 0 && consumersOf[t.Id].All(c => tasks[c].Phase == Phase.Optimizer))
                t.Work = t.Work with { WorkingCap = MeshKernel.GradientChunkBytes };

        long hostBytes = g.Inputs.Sum(v => p.Bytes(v.Type)) + g.Outputs.Sum(o => p.Bytes(o.Value.Type));
        return new LoweredGraph
        {
            Tasks = tasks, Edges = edges, IsTraining = training, Flops = tasks.Sum(t => t.Flops), HostBytes = hostBytes,
            Parameters = g.Parameters, States = g.States,
        };
    }

    private static string Label(Node n) => n.Scope is null ? n.ToString() : $"{n.Scope}/{n}";

    // A fused group's task is created at its first node, but a later node of the group may read a task created after
    // it (e.g. a chain of Adds each taking a separately computed sum): tasks are put in dependency order, keeping the
    // creation order wherever it is already valid, and renumbered.
    private static void OrderTasks(List<KernelTask> tasks, Dictionary<Node, int> taskOf, Func<Value, Value> resolve)
    {
        int n = tasks.Count;
        var next = new List<int>[n];
        var indegree = new int[n];
        for (int i = 0; i < n; i++) next[i] = new List<int>();
        var pairs = new HashSet<(int, int)>();
        foreach (var t in tasks)
            foreach (var node in t.Nodes)
                foreach (var v0 in node.Inputs)
                    if (resolve(v0).Producer is { } pr && taskOf.TryGetValue(pr, out int from) && from != t.Id && pairs.Add((from, t.Id)))
                    { next[from].Add(t.Id); indegree[t.Id]++; }
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < n; i++) if (indegree[i] == 0) ready.Enqueue(i, i);
        var order = new List<int>(n);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(i);
            foreach (int j in next[i]) if (--indegree[j] == 0) ready.Enqueue(j, j);
        }
        if (order.Count != n) throw new InvalidOperationException("kernel tasks depend on each other in a cycle (a fusion group that is not convex)");
        if (order.Select((t, k) => t == k).All(x => x)) return;
        var renumber = new int[n];
        for (int k = 0; k < n; k++) renumber[order[k]] = k;
        var old = tasks.ToArray();
        for (int k = 0; k < n; k++) { tasks[k] = old[order[k]]; tasks[k].Id = k; }
        foreach (var node in taskOf.Keys.ToList()) taskOf[node] = renumber[taskOf[node]];
    }

    private static KernelTask FusedTask(int id, FusionGroupInfo grp, CostParams p)
    {
        double flops = 0;
        foreach (var n in grp.Nodes) flops += Graph.Graph.NodeCost(n).Flops;
        long elems = grp.Nodes[0].Outputs[0].Type.Numel;
        var work = new KernelWork
        {
            Elements = Math.Max(1, elems), Flops = flops,
            BytesRead = grp.Inputs.Sum(v => p.Bytes(v.Type)),
            BytesWritten = Math.Max(grp.Exports.Sum(v => p.Bytes(v.Type)), p.Bytes(grp.Nodes[^1].Outputs[0].Type)),
        };
        var ops = grp.Nodes.Select(n => n.Op.Name).Distinct().ToList();
        return new KernelTask
        {
            Id = id, Name = Label(grp.Nodes[0]) + $" (+{grp.Nodes.Count - 1} fused)", Op = string.Join("+", ops),
            Kernel = KernelLibrary.Elementwise, Work = work, Nodes = grp.Nodes, Flops = flops,
        };
    }

    private static KernelTask AttentionTask(int id, List<Node> nodes, CostParams p)
    {
        var qk = nodes[0]; var pv = nodes[^1];
        var s = qk.Outputs[0].Shape; // [..., Tq, Tk]
        long tq = s[-2], tk = s[-1], d = qk.Inputs[0].Shape[-1];
        long batch = qk.Outputs[0].Type.Numel / Math.Max(1, tq * tk);
        double flops = 0;
        foreach (var n in nodes) flops += Graph.Graph.NodeCost(n).Flops;
        var work = new KernelWork
        {
            Batch = batch, M = tq, N = tk, K = d, Flops = flops,
            BytesRead = p.Bytes(qk.Inputs[0].Type) + p.Bytes(qk.Inputs[1].Type) + p.Bytes(pv.Inputs[1].Type),
            BytesWritten = p.Bytes(pv.Outputs[0].Type),
        };
        return new KernelTask
        {
            Id = id, Name = Label(qk).Replace(qk.ToString(), "Attention#" + qk.Id, StringComparison.Ordinal), Op = "Attention",
            Kernel = KernelLibrary.Attention, Work = work, Nodes = nodes, Flops = flops,
        };
    }

    // softmax ← [Mul by scalar | CausalMask | Add]* ← MatMul(trans_b, batched); softmax → MatMul(batched) as its left operand.
    private static List<Node>? MatchAttention(Node softmax, Func<Value, Value> resolve, Dictionary<Value, List<Node>> users)
    {
        int axis = softmax.Attrs.GetInt("axis", -1);
        int rank = softmax.Outputs[0].Rank;
        if (rank < 3 || (axis != -1 && axis != rank - 1)) return null;
        var chain = new List<Node>();
        var x = resolve(softmax.Inputs[0]);
        for (int i = 0; i < 3 && x.Producer is { } pr && pr.Op.Name is "Mul" or "CausalMask" or "Add" or "Div"; i++)
        {
            chain.Insert(0, pr);
            var main = pr.Inputs.Select(resolve).FirstOrDefault(v => v.Shape == pr.Outputs[0].Shape);
            if (main is null) return null;
            x = main;
        }
        if (x.Producer is not { } qk || qk.Op.Name != "MatMul" || !qk.Attrs.GetBool("trans_b", false) || qk.Attrs.GetBool("trans_a", false)) return null;
        if (qk.Outputs[0].Rank < 3) return null;
        if (!users.TryGetValue(softmax.Outputs[0], out var su)) return null;
        var pv = su.FirstOrDefault(u => u.Op.Name == "MatMul" && resolve(u.Inputs[0]) == softmax.Outputs[0] && !u.Attrs.GetBool("trans_a", false) && !u.Attrs.GetBool("trans_b", false) && u.Outputs[0].Rank >= 3);
        if (pv is null) return null;
        var result = new List<Node> { qk };
        result.AddRange(chain);
        result.Add(softmax);
        result.Add(pv);
        return result;
    }
}
