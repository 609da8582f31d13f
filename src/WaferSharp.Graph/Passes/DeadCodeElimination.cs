namespace WaferSharp.Graph.Passes;

/// <summary>
/// Removes nodes whose outputs the graph's outputs and updates do not (transitively) need, and constants
/// nothing uses. Inputs, parameters and state are kept even when unused: they are the graph's interface.
/// </summary>
public static class DeadCodeElimination
{
    /// <summary>Runs the pass; returns the number of nodes removed.</summary>
    public static int Run(Graph g) => Run(g, out _);

    /// <summary>Runs the pass; returns the number of nodes removed and reports the constants removed.</summary>
    public static int Run(Graph g, out int removedConstants)
    {
        var needed = new HashSet<Value>(GraphRewrite.Roots(g));
        var dead = new HashSet<Node>();
        for (int i = g.NodeList.Count - 1; i >= 0; i--)
        {
            var n = g.NodeList[i];
            bool live = false;
            foreach (var o in n.Outputs) if (needed.Contains(o)) { live = true; break; }
            if (!live) { dead.Add(n); continue; }
            foreach (var v in n.Inputs) needed.Add(v);
        }
        int removed = GraphRewrite.RemoveNodes(g, dead);
        var deadConsts = new HashSet<Value>(g.ConstantList.Where(c => !needed.Contains(c)));
        removedConstants = GraphRewrite.RemoveConstants(g, deadConsts);
        return removed;
    }
}
