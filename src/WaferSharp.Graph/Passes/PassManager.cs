namespace WaferSharp.Graph.Passes;

/// <summary>What <see cref="PassManager.Optimize"/> did.</summary>
/// <param name="Folded">Nodes replaced by constants.</param>
/// <param name="Merged">Nodes and constants merged by CSE.</param>
/// <param name="Removed">Dead nodes removed.</param>
/// <param name="RemovedConstants">Unused constants removed.</param>
/// <param name="FusionGroups">Elementwise fusion groups marked.</param>
/// <param name="Iterations">Rounds of folding → CSE → DCE until nothing changed.</param>
/// <param name="NodesBefore">Node count on entry.</param>
/// <param name="NodesAfter">Node count on exit.</param>
public sealed record OptimizationReport(int Folded, int Merged, int Removed, int RemovedConstants, int FusionGroups, int Iterations, int NodesBefore, int NodesAfter)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"nodes {NodesBefore} -> {NodesAfter} in {Iterations} round(s): folded {Folded}, merged {Merged}, removed {Removed} nodes and {RemovedConstants} constants; {FusionGroups} fusion group(s)";
}

/// <summary>Options of <see cref="PassManager.Optimize"/>.</summary>
public sealed record PassOptions
{
    /// <summary>Run constant folding.</summary>
    public bool Fold { get; init; } = true;
    /// <summary>Run common-subexpression elimination.</summary>
    public bool Cse { get; init; } = true;
    /// <summary>Run dead-code elimination.</summary>
    public bool Dce { get; init; } = true;
    /// <summary>Run elementwise fusion at the end.</summary>
    public bool Fuse { get; init; } = true;
    /// <summary>Reorder nodes so each fusion group is contiguous.</summary>
    public bool ContiguousGroups { get; init; }
    /// <summary>Largest folded result (elements); also the largest constant CSE compares.</summary>
    public long MaxFoldElements { get; init; } = 1 << 16;
    /// <summary>Safety cap on fold/CSE/DCE rounds.</summary>
    public int MaxIterations { get; init; } = 32;
}

/// <summary>The standard pipeline: folding → CSE → DCE to a fixed point, then elementwise fusion, then validation.</summary>
public static class PassManager
{
    /// <summary>Optimizes <paramref name="g"/> in place. Results on the CPU executor are bitwise unchanged.</summary>
    public static OptimizationReport Optimize(Graph g, PassOptions? options = null)
    {
        var o = options ?? new PassOptions();
        int before = g.NodeList.Count;
        int folded = 0, merged = 0, removed = 0, removedConsts = 0, rounds = 0;
        while (rounds < o.MaxIterations)
        {
            rounds++;
            int f = o.Fold ? ConstantFolding.Run(g, o.MaxFoldElements) : 0;
            int m = o.Cse ? CommonSubexpressionElimination.Run(g, o.MaxFoldElements) : 0;
            int r = 0, rc = 0;
            if (o.Dce) r = DeadCodeElimination.Run(g, out rc);
            folded += f; merged += m; removed += r; removedConsts += rc;
            // DCE only removes what folding/CSE made dead (or what was dead on entry), so another round is only
            // useful when folding or CSE changed something
            if (f + m == 0) break;
        }
        int groups = 0;
        if (o.Fuse)
        {
            groups = ElementwiseFusion.Run(g, o.ContiguousGroups);
            ElementwiseFusion.Verify(g);
        }
        else foreach (var n in g.NodeList) n.FusionGroup = -1;
        g.Validate();
        return new OptimizationReport(folded, merged, removed, removedConsts, groups, rounds, before, g.NodeList.Count);
    }
}
