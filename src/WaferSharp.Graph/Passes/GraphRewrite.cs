namespace WaferSharp.Graph.Passes;

/// <summary>Shared graph-surgery helpers used by every pass.</summary>
public static class GraphRewrite
{
    /// <summary>
    /// Replaces every use of <paramref name="old"/> by <paramref name="new"/>: node inputs, graph outputs and the
    /// new-value side of updates (update targets are persistent values and are never rewritten).
    /// Returns the number of uses rewritten. Types must match.
    /// </summary>
    public static int ReplaceAllUses(Graph g, Value old, Value @new) =>
        ReplaceAllUses(g, new Dictionary<Value, Value> { [old] = @new });

    /// <summary>
    /// Batch form of <see cref="ReplaceAllUses(Graph, Value, Value)"/>: one sweep over the graph applying every
    /// replacement in <paramref name="map"/> (chains a→b→c resolve to c). Returns the number of uses rewritten.
    /// </summary>
    public static int ReplaceAllUses(Graph g, IReadOnlyDictionary<Value, Value> map)
    {
        if (map.Count == 0) return 0;
        foreach (var (o, n) in map)
            if (o.Type != n.Type) throw new ArgumentException($"cannot replace {o} by {n}: types differ");
        int count = 0;
        foreach (var node in g.NodeList)
        {
            Value[]? copy = null;
            for (int i = 0; i < node.Inputs.Length; i++)
            {
                var r = Resolve(map, node.Inputs[i]);
                if (ReferenceEquals(r, node.Inputs[i])) continue;
                copy ??= (Value[])node.Inputs.Clone(); // never mutate an input array a caller may share
                copy[i] = r;
                count++;
            }
            if (copy is not null) node.Inputs = copy;
        }
        for (int i = 0; i < g.OutputList.Count; i++)
        {
            var (name, v) = g.OutputList[i];
            var r = Resolve(map, v);
            if (!ReferenceEquals(r, v)) { g.OutputList[i] = (name, r); count++; }
        }
        for (int i = 0; i < g.UpdateList.Count; i++)
        {
            var (t, v) = g.UpdateList[i];
            var r = Resolve(map, v);
            if (!ReferenceEquals(r, v)) { g.UpdateList[i] = (t, r); count++; }
        }
        return count;
    }

    /// <summary>Follows a replacement chain to its end.</summary>
    public static Value Resolve(IReadOnlyDictionary<Value, Value> map, Value v)
    {
        int guard = 0;
        while (map.TryGetValue(v, out var n) && !ReferenceEquals(n, v))
        {
            v = n;
            if (++guard > map.Count) throw new InvalidOperationException("replacement map contains a cycle");
        }
        return v;
    }

    /// <summary>Removes the given nodes from the node list (their values stay allocated, so ids remain unique).</summary>
    public static int RemoveNodes(Graph g, IReadOnlySet<Node> dead) =>
        dead.Count == 0 ? 0 : g.NodeList.RemoveAll(dead.Contains);

    /// <summary>Removes the given constants from the constant list.</summary>
    public static int RemoveConstants(Graph g, IReadOnlySet<Value> dead) =>
        dead.Count == 0 ? 0 : g.ConstantList.RemoveAll(dead.Contains);

    /// <summary>Values the graph's results depend on directly: outputs and update new-values.</summary>
    internal static IEnumerable<Value> Roots(Graph g) =>
        g.OutputList.Select(o => o.Value).Concat(g.UpdateList.Select(u => u.NewValue));
}
