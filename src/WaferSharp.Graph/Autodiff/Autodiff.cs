namespace WaferSharp.Graph;

/// <summary>Reverse-mode automatic differentiation as a graph-to-graph transform: it appends the backward pass to the graph.</summary>
public static class Autodiff
{
    /// <summary>
    /// Appends ops computing d<paramref name="loss"/>/d<paramref name="wrt"/>[i] to the builder's graph and
    /// returns them (zeros for values the loss does not depend on). <paramref name="seed"/> defaults to ones.
    /// </summary>
    public static Value[] Grad(GraphBuilder b, Value loss, IReadOnlyList<Value> wrt, Value? seed = null)
    {
        var g = b.Graph;
        int lastNode = loss.Producer is null ? -1 : g.NodeList.IndexOf(loss.Producer);
        var forward = g.NodeList.Take(lastNode + 1).ToList();

        // Only nodes that lie on a path from some wrt value to the loss need a gradient.
        var fromWrt = new HashSet<Value>(wrt);
        foreach (var n in forward)
            if (n.Inputs.Any(fromWrt.Contains)) foreach (var o in n.Outputs) fromWrt.Add(o);
        var toLoss = new HashSet<Value> { loss };
        for (int i = forward.Count - 1; i >= 0; i--)
            if (forward[i].Outputs.Any(toLoss.Contains)) foreach (var x in forward[i].Inputs) toLoss.Add(x);

        var grads = new Dictionary<Value, Value>();
        grads[loss] = seed ?? b.OnesLike(loss);
        string? savedScope = b.Scope;
        try
        {
            for (int i = forward.Count - 1; i >= 0; i--)
            {
                var n = forward[i];
                if (!n.Outputs.Any(o => toLoss.Contains(o) && fromWrt.Contains(o) && grads.ContainsKey(o))) continue;
                var gouts = n.Outputs.Select(o => grads.GetValueOrDefault(o)).ToArray();
                b.Scope = "backward" + (n.Scope is null ? "" : ":" + n.Scope);
                var gins = n.Op.Gradient(new GradContext(b, n, gouts));
                if (gins.Length != n.Inputs.Length)
                    throw new InvalidOperationException($"gradient rule of {n.Op.Name} returned {gins.Length} values for {n.Inputs.Length} inputs");
                for (int k = 0; k < gins.Length; k++)
                {
                    var x = n.Inputs[k];
                    var gx = gins[k];
                    if (gx is null || !fromWrt.Contains(x)) continue;
                    if (gx.Shape != x.Shape) gx = b.SumTo(gx, x.Shape);
                    if (gx.DType != x.DType) gx = b.Cast(gx, x.DType);
                    grads[x] = grads.TryGetValue(x, out var prev) ? b.Add(prev, gx) : gx;
                }
            }
        }
        finally { b.Scope = savedScope; }
        return wrt.Select(w => grads.TryGetValue(w, out var gw) ? gw : b.ZerosLike(w)).ToArray();
    }
}
