using WaferSharp.Graph;

namespace WaferSharp.Compiler;

/// <summary>
/// Placement groups: kernels that share resident data run on one region. A kernel joins the group of every parameter
/// it reads (so a layer's forward, input-gradient and update kernels sit with its weights), and a gradient kernel whose
/// only consumers are optimizer updates joins them. Any other parameter-free kernel joins the group at the other end
/// of its largest edge (its largest input's producer, or the consumer of an output that dwarfs its inputs). Groups are ordered by their first kernel (a topological order).
/// </summary>
public static class Grouping
{
    /// <summary>Group index of each task, and the groups' task lists in order.</summary>
    public static (int[] GroupOf, List<List<int>> Groups) Build(LoweredGraph lg)
    {
        int n = lg.Tasks.Count;
        var parent = new int[n];
        for (int i = 0; i < n; i++) parent[i] = i;
        int Find(int x) { while (parent[x] != x) x = parent[x] = parent[parent[x]]; return x; }
        void Union(int a, int b) { a = Find(a); b = Find(b); if (a != b) parent[Math.Max(a, b)] = Math.Min(a, b); }

        var owner = new Dictionary<Value, int>();
        foreach (var t in lg.Tasks)
            foreach (var pv in t.Params)
                if (owner.TryGetValue(pv, out int o)) Union(o, t.Id); else owner[pv] = t.Id;

        var consumers = new List<int>[n];
        foreach (var e in lg.Edges) (consumers[e.From] ??= new List<int>()).Add(e.To);
        for (int i = 0; i < n; i++)
        {
            var cs = consumers[i];
            if (cs is null || lg.Tasks[i].Phase != Phase.Backward) continue;
            if (cs.All(c => lg.Tasks[c].Phase == Phase.Optimizer)) foreach (int c in cs) Union(i, c);
        }

        var inParamGroup = new bool[n];
        foreach (var t in lg.Tasks) if (t.Params.Count > 0 || t.Phase == Phase.Optimizer) inParamGroup[Find(t.Id)] = true;

        // A kernel with no resident data of its own joins the group at the other end of its largest edge (the nearest
        // producer on a tie), in topological order so chains fold in: big intermediates (the LM head's logits into the
        // loss and back into the head's weight gradient, attention scores into their reductions) never leave their
        // region, gradients are computed where their largest operand is, and only layer activations cross the fabric.
        // (a gradient kernel prefers a stashed forward activation on a tie: it stays where it was stashed; a kernel whose
        // output dwarfs its inputs, like an embedding's scatter into a table gradient, joins its consumer instead)
        var partner = new int[n];
        var best = new (long Bytes, int Stash, int Near)[n];
        Array.Fill(partner, -1);
        void Offer(int at, int other, long bytes, int stash, int near)
        {
            var key = (bytes, stash, near);
            if (partner[at] < 0 || key.CompareTo(best[at]) > 0) { partner[at] = other; best[at] = key; }
        }
        foreach (var e in lg.Edges)
        {
            bool stash = lg.Tasks[e.From].Phase == Phase.Forward && lg.Tasks[e.To].Phase == Phase.Backward;
            Offer(e.To, e.From, e.Bytes, stash ? 1 : 0, e.From);
            Offer(e.From, e.To, e.Bytes, 0, -e.To);
        }
        for (int i = 0; i < n; i++)
        {
            int r = Find(i);
            if (inParamGroup[r] || partner[i] < 0 || lg.Tasks[i].Phase == Phase.Optimizer) continue;
            bool flag = inParamGroup[Find(partner[i])];
            Union(i, partner[i]);
            inParamGroup[Find(i)] |= flag;
        }

        var groupOf = new int[n];
        var index = new Dictionary<int, int>();
        var groups = new List<List<int>>();
        for (int i = 0; i < n; i++)
        {
            int r = Find(i);
            if (!index.TryGetValue(r, out int gi)) { index[r] = gi = groups.Count; groups.Add(new List<int>()); }
            groupOf[i] = gi;
            groups[gi].Add(i);
        }
        return (groupOf, groups);
    }
}
