namespace WaferSharp.Graph.Passes;

/// <summary>One fusion group, as the compiler consumes it.</summary>
/// <param name="Id">The group id (<see cref="Node.FusionGroup"/>).</param>
/// <param name="Nodes">Member nodes, in graph order.</param>
/// <param name="Inputs">Values the group reads from outside it (distinct, in first-use order); broadcast operands included.</param>
/// <param name="Exports">Values produced inside the group that something outside it needs: other nodes, graph outputs or updates.</param>
public sealed record FusionGroupInfo(int Id, IReadOnlyList<Node> Nodes, IReadOnlyList<Value> Inputs, IReadOnlyList<Value> Exports);

/// <summary>
/// Marks maximal groups of connected <see cref="OpKind.Elementwise"/> nodes whose outputs all have one shape
/// (operands from outside, e.g. broadcast biases, are fine) by setting <see cref="Node.FusionGroup"/>.
/// Groups never create a cycle: the graph with every group contracted to one node stays acyclic, so each group
/// is convex (no path leaves it and comes back) and all groups can run as single kernels in some order.
/// </summary>
/// <remarks>
/// The pass keeps a topological order in which every group is a contiguous block (a linked list). Merging an
/// earlier block X with a later block Y only needs the blocks between them: it is legal unless a block in that
/// gap depends (transitively, through gap blocks) on X and feeds Y; then X moves next to Y and the gap blocks
/// depending on X move after Y.
/// Merges are tried along every producer→consumer edge until nothing changes.
/// </remarks>
public static class ElementwiseFusion
{
    /// <summary>
    /// Runs the pass; returns the number of groups (of two or more nodes). Previous marks are cleared; singletons get -1.
    /// With <paramref name="makeContiguous"/> the node list is also reordered (still topologically) so that each
    /// group's nodes are adjacent.
    /// </summary>
    public static int Run(Graph g, bool makeContiguous = false)
    {
        var nodes = g.NodeList;
        int n = nodes.Count;
        foreach (var node in nodes) node.FusionGroup = -1;
        if (n == 0) return 0;

        var index = new Dictionary<Node, int>(n);
        for (int i = 0; i < n; i++) index[nodes[i]] = i;
        var prods = new int[n][];
        var eligible = new bool[n];
        for (int i = 0; i < n; i++)
        {
            var node = nodes[i];
            var ps = new List<int>();
            foreach (var v in node.Inputs)
                if (v.Producer is { } p && index.TryGetValue(p, out int pi) && !ps.Contains(pi)) ps.Add(pi);
            prods[i] = ps.ToArray();
            eligible[i] = IsFusable(node);
        }

        // groups: gid per node, members/head/tail per group id; order: doubly linked list with sentinel n
        var gid = new int[n];
        var members = new List<int>?[n];
        var head = new int[n];
        var tail = new int[n];
        var next = new int[n + 1];
        var prev = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            gid[i] = i; members[i] = new List<int> { i }; head[i] = tail[i] = i;
            next[i] = i + 1; prev[i] = i == 0 ? n : i - 1;
        }
        next[n] = 0; prev[n] = n - 1;

        var mark = new int[n];
        int stamp = 0;
        var dep = new List<int>();

        void Unlink(int first, int last) { next[prev[first]] = next[last]; prev[next[last]] = prev[first]; }
        void LinkAfter(int at, int first, int last) { int after = next[at]; next[at] = first; prev[first] = at; next[last] = after; prev[after] = last; }

        bool TryMerge(int a, int b) // group a's block is before group b's block
        {
            stamp++;
            dep.Clear();
            // walk the gap block by block: a block (another group) depends on X when any member does, and then
            // all of it does, because it will run as one kernel
            for (int u = next[tail[a]]; u != head[b];)
            {
                if (u == n || head[gid[u]] != u) throw new InvalidOperationException("fusion: block order invariant broken");
                int last = tail[gid[u]];
                bool isDep = false;
                for (int w = u; !isDep; w = next[w])
                {
                    foreach (int p in prods[w])
                        if (gid[p] == a || mark[p] == stamp) { isDep = true; break; }
                    if (w == last) break;
                }
                if (isDep)
                    for (int w = u; ; w = next[w]) { mark[w] = stamp; dep.Add(w); if (w == last) break; }
                u = next[last];
            }
            if (dep.Count > 0)
                foreach (int m in members[b]!)
                    foreach (int p in prods[m])
                        if (mark[p] == stamp) return false; // X → gap → Y: fusing would create a cycle
            if (next[tail[a]] != head[b])
            {
                // move block X right before Y, then the gap nodes that depend on X after Y (keeping their order)
                int xh = head[a], xt = tail[a];
                Unlink(xh, xt);
                LinkAfter(prev[head[b]], xh, xt);
                int at = tail[b];
                foreach (int u in dep) { Unlink(u, u); LinkAfter(at, u, u); at = u; }
            }
            int newHead = head[a], newTail = tail[b];
            var (keep, drop) = members[a]!.Count >= members[b]!.Count ? (a, b) : (b, a);
            foreach (int m in members[drop]!) gid[m] = keep;
            members[keep]!.AddRange(members[drop]!);
            members[drop] = null;
            head[keep] = newHead; tail[keep] = newTail;
            return true;
        }

        for (bool changed = true; changed;)
        {
            changed = false;
            for (int i = 0; i < n; i++)
            {
                if (!eligible[i]) continue;
                var shape = nodes[i].Outputs[0].Shape;
                foreach (int p in prods[i])
                    if (eligible[p] && gid[p] != gid[i] && nodes[p].Outputs[0].Shape == shape && TryMerge(gid[p], gid[i]))
                        changed = true;
            }
        }

        // number groups of two or more by their first node in graph order
        int count = 0;
        var idOf = new Dictionary<int, int>();
        for (int i = 0; i < n; i++)
        {
            var ms = members[gid[i]]!;
            if (ms.Count < 2) continue;
            if (!idOf.TryGetValue(gid[i], out int id)) idOf[gid[i]] = id = count++;
            nodes[i].FusionGroup = id;
        }

        if (makeContiguous)
        {
            var order = new List<Node>(n);
            for (int u = next[n]; u != n; u = next[u]) order.Add(nodes[u]);
            nodes.Clear();
            nodes.AddRange(order);
        }
        return count;
    }

    /// <summary>True for nodes the pass may put in a group: elementwise ops whose outputs all have one shape.</summary>
    public static bool IsFusable(Node node) =>
        node.Op.Kind == OpKind.Elementwise && node.Outputs.Length > 0 && node.Outputs.All(o => o.Shape == node.Outputs[0].Shape);

    /// <summary>The groups marked on <paramref name="g"/>, by id: members, external inputs and exported values.</summary>
    public static IReadOnlyList<FusionGroupInfo> FusionGroups(Graph g)
    {
        var byId = new SortedDictionary<int, List<Node>>();
        foreach (var node in g.NodeList)
            if (node.FusionGroup >= 0)
            {
                if (!byId.TryGetValue(node.FusionGroup, out var l)) byId[node.FusionGroup] = l = new List<Node>();
                l.Add(node);
            }
        if (byId.Count == 0) return Array.Empty<FusionGroupInfo>();

        // who needs each value from outside its producer's group
        var usedOutside = new HashSet<Value>(GraphRewrite.Roots(g));
        foreach (var node in g.NodeList)
            foreach (var v in node.Inputs)
                if (v.Producer is { } p && (p.FusionGroup < 0 || p.FusionGroup != node.FusionGroup)) usedOutside.Add(v);

        var result = new List<FusionGroupInfo>(byId.Count);
        foreach (var (id, ns) in byId)
        {
            var inside = new HashSet<Node>(ns);
            var inputs = new List<Value>();
            var seen = new HashSet<Value>();
            var exports = new List<Value>();
            foreach (var node in ns)
            {
                foreach (var v in node.Inputs)
                    if ((v.Producer is null || !inside.Contains(v.Producer)) && seen.Add(v)) inputs.Add(v);
                foreach (var o in node.Outputs) if (usedOutside.Contains(o)) exports.Add(o);
            }
            result.Add(new FusionGroupInfo(id, ns, inputs, exports));
        }
        return result;
    }

    /// <summary>
    /// Checks the marks: every group holds fusable nodes of one output shape, is connected, and contracting every
    /// group to one node leaves the graph acyclic (so each group is convex). Throws on violation.
    /// </summary>
    public static void Verify(Graph g)
    {
        var groups = FusionGroups(g);
        foreach (var grp in groups)
        {
            var shape = grp.Nodes[0].Outputs[0].Shape;
            foreach (var node in grp.Nodes)
                if (!IsFusable(node) || node.Outputs[0].Shape != shape)
                    throw new InvalidOperationException($"fusion group {grp.Id}: {node} is not elementwise with output shape {shape}");
            // connectivity over producer/consumer edges inside the group
            var inside = new HashSet<Node>(grp.Nodes);
            var adj = grp.Nodes.ToDictionary(x => x, _ => new List<Node>());
            foreach (var node in grp.Nodes)
                foreach (var v in node.Inputs)
                    if (v.Producer is { } p && inside.Contains(p)) { adj[node].Add(p); adj[p].Add(node); }
            var reached = new HashSet<Node> { grp.Nodes[0] };
            var stack = new Stack<Node>(reached);
            while (stack.Count > 0) foreach (var m in adj[stack.Pop()]) if (reached.Add(m)) stack.Push(m);
            if (reached.Count != inside.Count) throw new InvalidOperationException($"fusion group {grp.Id} is not connected");
        }

        // Kahn's algorithm on the contracted graph: super-node = group id, or a private key per unfused node
        var nodes = g.NodeList;
        var keyOf = new Dictionary<Node, int>(nodes.Count);
        for (int i = 0; i < nodes.Count; i++) keyOf[nodes[i]] = nodes[i].FusionGroup >= 0 ? nodes[i].FusionGroup : -1 - i;
        var succ = new Dictionary<int, HashSet<int>>();
        var indeg = new Dictionary<int, int>();
        foreach (var k in keyOf.Values) { succ.TryAdd(k, new HashSet<int>()); indeg.TryAdd(k, 0); }
        foreach (var node in nodes)
            foreach (var v in node.Inputs)
                if (v.Producer is { } p && keyOf.TryGetValue(p, out int pk) && pk != keyOf[node] && succ[pk].Add(keyOf[node]))
                    indeg[keyOf[node]]++;
        var ready = new Queue<int>(indeg.Where(kv => kv.Value == 0).Select(kv => kv.Key));
        int done = 0;
        while (ready.Count > 0)
        {
            int k = ready.Dequeue();
            done++;
            foreach (int s in succ[k]) if (--indeg[s] == 0) ready.Enqueue(s);
        }
        if (done != indeg.Count) throw new InvalidOperationException("fusion groups form a cycle: some group is not convex or two groups depend on each other");
    }
}
