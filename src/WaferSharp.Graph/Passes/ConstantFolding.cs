using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Passes;

/// <summary>
/// Evaluates pure nodes whose inputs are all constants (including input-less ops such as <c>Full</c>) with the
/// reference kernels and replaces their outputs by constants, as long as every result has at most
/// <c>maxElements</c> elements (big fills stay as <c>Full</c> nodes so no data is stored). Results are exactly
/// what the CPU executor would compute, because both go through <see cref="KernelInvoker"/>.
/// Folded nodes are removed; constants they used are left for <see cref="DeadCodeElimination"/>.
/// </summary>
public static class ConstantFolding
{
    /// <summary>Runs the pass; returns the number of nodes folded.</summary>
    public static int Run(Graph g, long maxElements = 1 << 16)
    {
        var map = new Dictionary<Value, Value>();
        var folded = new HashSet<Node>();
        var b = new GraphBuilder(g);
        foreach (var n in g.NodeList)
        {
            if (!n.Op.IsPure || n.Outputs.Length == 0) continue;
            if (n.Outputs.Any(o => o.Type.Numel > maxElements)) continue;
            var ins = new DenseTensor[n.Inputs.Length];
            bool allConst = true;
            for (int i = 0; i < ins.Length; i++)
            {
                var v = GraphRewrite.Resolve(map, n.Inputs[i]);
                if (v.Kind != ValueKind.Constant || v.Data is null) { allConst = false; break; }
                ins[i] = v.Data;
            }
            if (!allConst) continue;
            DenseTensor[] outs;
            try { outs = KernelInvoker.Run(n.Op, ins, n.Attrs, n.Outputs.Select(o => o.Type).ToArray()); }
            catch (Exception e) when (e is not OutOfMemoryException) { continue; } // leave it for run time to report
            for (int k = 0; k < outs.Length; k++)
            {
                var data = outs[k];
                // a kernel may return (a view of) one of its inputs; constants must own their storage
                if (ins.Any(t => ReferenceEquals(t.Storage, data.Storage))) data = data.Clone();
                map[n.Outputs[k]] = b.Constant(data);
            }
            folded.Add(n);
        }
        if (folded.Count == 0) return 0;
        GraphRewrite.ReplaceAllUses(g, map);
        GraphRewrite.RemoveNodes(g, folded);
        return folded.Count;
    }
}
