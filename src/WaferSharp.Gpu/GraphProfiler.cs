using System.Text.RegularExpressions;
using WaferSharp.Graph;
using WaferSharp.Graph.Passes;
using WaferSharp.Tensors;

namespace WaferSharp.Gpu;

/// <summary>
/// Builds a <see cref="ModelProfile"/> from any forward graph (front-end trace, zoo trace or ONNX import) by reading
/// each node's shapes and <see cref="Graph.Graph.NodeCost"/>: repeated blocks are found from the module paths in
/// <see cref="Node.Scope"/> (e.g. "h.3.attn"); GEMMs keep their shapes; other ops become memory-bound traffic,
/// elementwise chains counted once per fusion group; layout ops are free (views on a GPU).
/// </summary>
/// <remarks>
/// Tensor parallelism is inferred the Megatron way by propagating a replicated/split state through each block: a
/// linear layer reading a replicated activation is column-parallel (its output is split), one reading a split
/// activation is row-parallel (its output is replicated after an all-reduce); ops on split tensors are split.
/// Activations kept for backward are the distinct inputs of ops that need them (not of adds, masks or views);
/// those of shape [.., s, s] are the seq²-sized ones selective recomputation drops.
/// </remarks>
public static partial class GraphProfiler
{
    [GeneratedRegex(@"^(.*?\.\d+)(\.|$)")]
    private static partial Regex BlockPath();

    private const double E = 2;

    /// <summary>Profiles a forward graph traced at micro-batch <paramref name="batch"/> and sequence length <paramref name="seqLen"/>.</summary>
    public static ModelProfile FromGraph(Graph.Graph g, int batch, int seqLen, string name, int heads = 0, int kvHeads = 0)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (batch < 1) throw new ArgumentException($"batch must be positive, got {batch}");
        if (g.Nodes.Count == 0) throw new ArgumentException($"graph '{name}' has no nodes to plan");

        // blocks: the first path prefix ending in an index ("h.3", "model.layers.12")
        string? BlockOf(Node n)
        {
            if (n.Scope is null) return null;
            string path = n.Scope.Split(' ')[0].Replace('/', '.').Trim('.'); // ONNX node names use '/'
            var mt = BlockPath().Match(path);
            return mt.Success ? mt.Groups[1].Value : null;
        }
        var blockOf = g.Nodes.ToDictionary(n => n, BlockOf);
        var blocks = blockOf.Values.Where(b => b is not null).Distinct().ToList();
        int firstBlockNode = -1, lastBlockNode = -1;
        for (int i = 0; i < g.Nodes.Count; i++)
            if (blockOf[g.Nodes[i]] is not null) { if (firstBlockNode < 0) firstBlockNode = i; lastBlockNode = i; }

        // fusion groups for elementwise traffic (restore the caller's marks afterwards)
        var saved = g.Nodes.Select(n => n.FusionGroup).ToArray();
        ElementwiseFusion.Run(g);
        var groups = ElementwiseFusion.FusionGroups(g).ToDictionary(x => x.Id);
        var groupOfNode = g.Nodes.ToDictionary(n => n, n => n.FusionGroup);
        for (int i = 0; i < saved.Length; i++) g.Nodes[i].FusionGroup = saved[i];

        List<Node> rep, pre, post;
        int layers;
        // blocks are layers only when they repeat: the same ops in the same order (a Sequential's children are not)
        string Signature(string blk) => string.Join(",", g.Nodes.Where(n => blockOf[n] == blk).Select(n => n.Op.Name));
        if (blocks.Count > 0)
        {
            string sig0 = Signature(blocks[0]!);
            if (blocks.Count == 1 || blocks.Skip(1).Any(b => Signature(b!) != sig0)) blocks.Clear();
        }
        if (blocks.Count == 0)
        {
            // no repeated blocks: the whole graph is one layer (pipeline parallelism cannot split it)
            rep = g.Nodes.ToList(); pre = []; post = []; layers = 1;
        }
        else
        {
            string first = blocks[0]!;
            rep = g.Nodes.Where(n => blockOf[n] == first).ToList();
            pre = g.Nodes.Take(firstBlockNode).Where(n => blockOf[n] is null).ToList();
            post = g.Nodes.Skip(lastBlockNode + 1).Where(n => blockOf[n] is null).ToList();
            layers = blocks.Count;
        }
        var users = g.Users();
        var repSet = rep.ToHashSet();
        var layer = Profile(rep, repSet, groups, groupOfNode, users, batch, seqLen);
        var preP = Profile(pre, pre.ToHashSet(), groups, groupOfNode, users, batch, seqLen);
        var postP = Profile(post, post.ToHashSet(), groups, groupOfNode, users, batch, seqLen);

        long ParamsOf(IEnumerable<Node> nodes) =>
            nodes.SelectMany(n => n.Inputs).Where(v => v.Kind == ValueKind.Parameter).Distinct().Sum(v => v.Type.Numel);
        long perLayer = ParamsOf(rep);
        long preParams = ParamsOf(pre);
        long total = g.ParameterCount;
        long postParams = Math.Max(0, total - preParams - layers * perLayer);
        var preWeights = pre.SelectMany(n => n.Inputs).Where(v => v.Kind == ValueKind.Parameter).ToHashSet();
        bool tied = post.SelectMany(n => n.Inputs).Any(preWeights.Contains);

        int hidden = layer.BlockInput is { } bi ? bi.Shape[^1] : (int)(rep.FirstOrDefault()?.Outputs[0].Shape[^1] ?? 1);
        long vocab = post.Where(n => n.Op.Kind == OpKind.Contraction).Select(n => (long)n.Outputs[0].Shape[^1]).DefaultIfEmpty(0).Max();
        return new ModelProfile
        {
            Name = name,
            Layers = layers,
            Hidden = hidden,
            Heads = heads,
            KvHeads = kvHeads == 0 ? heads : kvHeads,
            SeqLen = seqLen,
            Vocab = (int)vocab,
            LayerOps = layer.Ops,
            PreOps = preP.Ops,
            PostOps = postP.Ops,
            TpAllReduceBytes = layer.AllReduces,
            ActReplicated = layer.ActRep,
            ActSharded = layer.ActShard,
            ActQuadratic = layer.ActQuad,
            LayerInputBytes = layer.BlockInput is { } v ? E * v.Type.Numel / batch : 0,
            ParamsPerLayer = perLayer,
            PreParams = preParams,
            PostParams = postParams,
            TiedEmbeddings = tied,
            Source = $"graph ({g.Nodes.Count} nodes, {layers} repeated blocks)",
        };
    }

    private sealed record Part(List<LayerOp> Ops, List<double> AllReduces, double ActRep, double ActShard, double ActQuad, Value? BlockInput);

    private static bool IsWeight(Value v) => v.Kind is ValueKind.Parameter or ValueKind.Constant or ValueKind.State;

    private static Part Profile(List<Node> nodes, HashSet<Node> set, Dictionary<int, FusionGroupInfo> groups, Dictionary<Node, int> groupOf,
        Dictionary<Value, List<Node>> users, int batch, int seqLen)
    {
        var ops = new List<LayerOp>();
        var allReduces = new List<double>();
        var split = new Dictionary<Value, bool>();
        Value? blockInput = null;
        bool IsSplit(Value v) => split.TryGetValue(v, out bool s) && s;
        bool Quadratic(TensorType t) => seqLen > 1 && t.Rank >= 2 && t.Shape[^1] == seqLen && t.Shape[^2] == seqLen;
        var seenGroups = new HashSet<int>();
        var savedValues = new Dictionary<Value, bool>(); // value → split

        foreach (var n in nodes)
        {
            var acts = n.Inputs.Where(v => !IsWeight(v)).ToList();
            foreach (var v in acts)
                if (v.Producer is null || !set.Contains(v.Producer))
                    if (blockInput is null && v.Type.Rank >= 2 && v.Type.DType.IsFloating()) blockInput = v;
            bool inSplit = acts.Any(IsSplit);
            bool outSplit = inSplit;
            string label = (n.Scope?.Split(' ')[0] ?? "") + ":" + n.Op.Name;
            var kind = n.Op.Kind;
            if (kind == OpKind.Contraction)
            {
                var a = n.Inputs[0].Type; var w = n.Inputs[1].Type;
                bool linear = n.Op.Name == "Linear" || IsWeight(n.Inputs[1]);
                if (linear)
                {
                    int k = a.Shape[^1];
                    int nOut = n.Outputs[0].Shape[^1];
                    double m = a.Numel / k / (double)batch;
                    if (!inSplit) { ops.Add(LayerOp.Gemm(label, m, k, nOut, TpSplit.N)); outSplit = true; }
                    else
                    {
                        ops.Add(LayerOp.Gemm(label, m, k, nOut, TpSplit.K));
                        allReduces.Add(E * n.Outputs[0].Type.Numel / batch);
                        outSplit = false;
                    }
                }
                else
                {
                    int mm = a.Shape[^2], kk = a.Shape[^1], nn = w.Shape[^1];
                    double heads = n.Outputs[0].Type.Numel / ((double)mm * nn) / batch;
                    ops.Add(new LayerOp(label, true, mm, kk, nn, heads, true, inSplit ? TpSplit.Batch : TpSplit.Replicated, 0,
                        Quadratic(n.Outputs[0].Type) || Quadratic(a)));
                }
            }
            else if (kind != OpKind.Layout)
            {
                int gid = groupOf[n];
                double bytes;
                bool quad = n.Outputs.Any(o => Quadratic(o.Type));
                if (gid >= 0)
                {
                    if (!seenGroups.Add(gid)) { bytes = 0; }
                    else
                    {
                        var gi = groups[gid];
                        bytes = gi.Inputs.Where(v => !IsWeight(v)).Sum(v => (double)v.Type.Numel) + gi.Exports.Sum(v => (double)v.Type.Numel);
                        quad = gi.Nodes.Any(x => x.Outputs.Any(o => Quadratic(o.Type)));
                    }
                }
                else bytes = acts.Sum(v => (double)v.Type.Numel) + n.Outputs.Sum(v => (double)v.Type.Numel);
                if (bytes > 0)
                    ops.Add(LayerOp.Memory(label, E * bytes / batch, inSplit ? TpSplit.Sharded : TpSplit.Replicated, quad));
            }
            foreach (var o in n.Outputs) split[o] = outSplit;

            // activations kept for backward
            foreach (var v in SavedFor(n))
            {
                var src = Source(v);
                if (IsWeight(src) || !src.DType.IsFloating() || src.Type.Numel <= 1) continue;
                if (src.Producer is { } p && groupOf[p] >= 0 && groupOf[p] == groupOf[n]) continue; // fused: recomputed in-kernel
                savedValues.TryAdd(src, IsSplit(src));
            }
        }
        double rep = 0, shard = 0, quadAct = 0;
        foreach (var (v, s) in savedValues)
        {
            double bytes = E * v.Type.Numel / batch;
            if (Quadratic(v.Type)) quadAct += bytes;
            else if (s) shard += bytes;
            else rep += bytes;
        }
        return new Part(ops, allReduces, rep, shard, quadAct, blockInput);
    }

    // Values whose gradient rule reads: none for adds, masks and views; the output for softmax; the inputs otherwise.
    private static IEnumerable<Value> SavedFor(Node n) => n.Op.Name switch
    {
        "Add" or "Sub" or "Neg" or "CausalMask" or "Dropout" or "Cast" => [],
        "Softmax" or "LogSoftmax" => n.Outputs,
        "Mul" or "Div" when n.Inputs.Any(v => v.Type.Numel <= 1) => [],
        _ when n.Op.Kind == OpKind.Layout => [],
        _ => n.Inputs,
    };

    // Layout ops are views: the saved tensor is the one they view.
    private static Value Source(Value v)
    {
        while (v.Producer is { } p && p.Op.Kind == OpKind.Layout && p.Inputs.Length == 1) v = p.Inputs[0];
        return v;
    }
}
