using System.Text;

namespace WaferSharp.Graph;

/// <summary>
/// The stable text form of a graph, used by golden tests and <c>--dump-ir</c>. Values are renumbered in
/// print order, so the text depends only on structure, never on internal ids.
/// </summary>
public static class GraphPrinter
{
    /// <summary>Prints a graph.</summary>
    public static string Print(Graph g)
    {
        var names = new Dictionary<Value, string>();
        string N(Value v) => names.TryGetValue(v, out var s) ? s : names[v] = "%" + names.Count;
        var sb = new StringBuilder();
        void Decl(string kw, IEnumerable<Value> vs)
        {
            foreach (var v in vs) sb.Append(kw).Append(' ').Append(N(v)).Append(": ").Append(v.Type).Append(" \"").Append(v.Name).Append("\"\n");
        }
        Decl("input", g.Inputs);
        Decl("param", g.Parameters);
        Decl("state", g.States);
        foreach (var c in g.Constants)
        {
            sb.Append("const ").Append(N(c)).Append(": ").Append(c.Type);
            if (c.Data is { Length: 1 } d) sb.Append(" = ").Append(d.GetDouble(0).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        foreach (var n in g.Nodes)
        {
            sb.Append(string.Join(", ", n.Outputs.Select(N))).Append(" = ").Append(n.Op.Name);
            var a = n.Attrs.ToString();
            if (a.Length > 0) sb.Append(a);
            sb.Append('(').Append(string.Join(", ", n.Inputs.Select(N))).Append(") : ");
            sb.Append(string.Join(", ", n.Outputs.Select(o => o.Type.ToString())));
            if (n.FusionGroup >= 0) sb.Append("  #fuse").Append(n.FusionGroup);
            sb.Append('\n');
        }
        foreach (var (name, v) in g.Outputs) sb.Append("output \"").Append(name).Append("\" = ").Append(N(v)).Append('\n');
        foreach (var (t, v) in g.Updates) sb.Append("update ").Append(N(t)).Append(" <- ").Append(N(v)).Append('\n');
        return sb.ToString();
    }
}
