using System.Runtime.InteropServices;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Passes;

/// <summary>
/// Merges pure nodes with the same op, equal attributes and the same input values (the later one's uses are
/// redirected to the earlier one, which keeps the node order topological), and identical small constants
/// (same dtype, shape and bits; 0.0 and -0.0 stay distinct).
/// </summary>
public static class CommonSubexpressionElimination
{
    /// <summary>Runs the pass; returns the number of nodes and constants merged away.</summary>
    public static int Run(Graph g, long maxConstantElements = 1 << 16)
    {
        var map = new Dictionary<Value, Value>();

        // constants first, so nodes over duplicate constants become duplicates themselves
        var deadConsts = new HashSet<Value>();
        var byBits = new Dictionary<(DType, Shape, int), List<Value>>();
        foreach (var c in g.ConstantList)
        {
            if (c.Data is null || c.Type.Numel > maxConstantElements) continue;
            var key = (c.DType, c.Shape, BitsHash(c.Data));
            if (!byBits.TryGetValue(key, out var same)) byBits[key] = same = new List<Value>();
            var twin = same.FirstOrDefault(o => o.Data!.BitEquals(c.Data));
            if (twin is null) same.Add(c);
            else { map[c] = twin; deadConsts.Add(c); }
        }

        var seen = new Dictionary<NodeKey, Node>();
        var deadNodes = new HashSet<Node>();
        foreach (var n in g.NodeList)
        {
            if (!n.Op.IsPure) continue;
            var ins = new Value[n.Inputs.Length];
            for (int i = 0; i < ins.Length; i++) ins[i] = GraphRewrite.Resolve(map, n.Inputs[i]);
            var key = new NodeKey(n.Op, n.Attrs.ToString(), ins);
            if (!seen.TryGetValue(key, out var first)) { seen[key] = n; continue; }
            if (first.Outputs.Length != n.Outputs.Length) continue;
            bool typesMatch = true;
            for (int k = 0; k < n.Outputs.Length; k++) typesMatch &= first.Outputs[k].Type == n.Outputs[k].Type;
            if (!typesMatch) continue;
            for (int k = 0; k < n.Outputs.Length; k++) map[n.Outputs[k]] = first.Outputs[k];
            deadNodes.Add(n);
        }

        GraphRewrite.ReplaceAllUses(g, map);
        GraphRewrite.RemoveNodes(g, deadNodes);
        GraphRewrite.RemoveConstants(g, deadConsts);
        return deadNodes.Count + deadConsts.Count;
    }

    /// <summary>Hash of a tensor's raw element bits (process-local).</summary>
    internal static int BitsHash(DenseTensor t) { var h = new HashCode(); h.AddBytes(RawBytes(t)); return h.ToHashCode(); }

    /// <summary>The raw bytes of a tensor's storage.</summary>
    internal static ReadOnlySpan<byte> RawBytes(DenseTensor t) => t.Storage switch
    {
        float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
        ushort[] u => MemoryMarshal.AsBytes(u.AsSpan()),
        long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
        int[] i => MemoryMarshal.AsBytes(i.AsSpan()),
        bool[] b => MemoryMarshal.AsBytes(b.AsSpan()),
        _ => throw new NotSupportedException($"storage {t.Storage.GetType().Name}"),
    };

    private readonly struct NodeKey : IEquatable<NodeKey>
    {
        private readonly OpDef _op;
        private readonly string _attrs;
        private readonly Value[] _ins;
        private readonly int _hash;

        public NodeKey(OpDef op, string attrs, Value[] ins)
        {
            _op = op; _attrs = attrs; _ins = ins;
            var h = new HashCode();
            h.Add(op.Name);
            h.Add(attrs);
            foreach (var v in ins) h.Add(v.Id);
            _hash = h.ToHashCode();
        }

        public bool Equals(NodeKey o)
        {
            if (_hash != o._hash || !ReferenceEquals(_op, o._op) || _attrs != o._attrs || _ins.Length != o._ins.Length) return false;
            for (int i = 0; i < _ins.Length; i++) if (!ReferenceEquals(_ins[i], o._ins[i])) return false;
            return true;
        }

        public override bool Equals(object? obj) => obj is NodeKey k && Equals(k);
        public override int GetHashCode() => _hash;
    }
}
