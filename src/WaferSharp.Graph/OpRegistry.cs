using System.Reflection;

namespace WaferSharp.Graph;

/// <summary>All known ops by name. Ops in this assembly register themselves (found once at start-up); others call <see cref="Register"/>.</summary>
public static class OpRegistry
{
    private static readonly Dictionary<string, OpDef> Ops = Discover();

    private static Dictionary<string, OpDef> Discover()
    {
        var d = new Dictionary<string, OpDef>(StringComparer.Ordinal);
        foreach (var t in typeof(OpDef).Assembly.GetTypes())
        {
            if (t.IsAbstract || !typeof(OpDef).IsAssignableFrom(t) || t.GetConstructor(Type.EmptyTypes) is null) continue;
            var op = (OpDef)Activator.CreateInstance(t)!;
            if (!d.TryAdd(op.Name, op)) throw new InvalidOperationException($"two ops are named {op.Name}");
        }
        return d;
    }

    /// <summary>Adds an op defined outside this assembly.</summary>
    public static void Register(OpDef op)
    {
        lock (Ops) if (!Ops.TryAdd(op.Name, op)) throw new InvalidOperationException($"op {op.Name} is already registered");
    }

    /// <summary>Looks an op up, with a clear error listing nothing when unknown.</summary>
    public static OpDef Get(string name) =>
        Ops.TryGetValue(name, out var op) ? op : throw new KeyNotFoundException($"unknown op '{name}'");

    /// <summary>Looks an op up without throwing.</summary>
    public static bool TryGet(string name, out OpDef op) => Ops.TryGetValue(name, out op!);

    /// <summary>Every registered op, by name.</summary>
    public static IEnumerable<OpDef> All => Ops.Values.OrderBy(o => o.Name, StringComparer.Ordinal);
}
