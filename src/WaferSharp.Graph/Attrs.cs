using System.Globalization;
using System.Text;
using WaferSharp.Tensors;

namespace WaferSharp.Graph;

/// <summary>
/// Immutable node attributes. Values are long, double, bool, string, long[], double[], DType.
/// Keys are kept sorted so the printed form and hashing are stable.
/// </summary>
public sealed class Attrs : IEquatable<Attrs>
{
    private readonly SortedDictionary<string, object> _items;

    /// <summary>No attributes.</summary>
    public static readonly Attrs Empty = new();

    private Attrs() => _items = new(StringComparer.Ordinal);

    /// <summary>Builds attributes from pairs; ints become long, floats double, int[] long[].</summary>
    public static Attrs Of(params (string Key, object? Value)[] pairs)
    {
        if (pairs.Length == 0) return Empty;
        var a = new Attrs();
        foreach (var (k, v) in pairs) if (v is not null) a._items[k] = Normalize(v);
        return a;
    }

    /// <summary>A copy with one attribute set.</summary>
    public Attrs With(string key, object value)
    {
        var a = new Attrs();
        foreach (var kv in _items) a._items[kv.Key] = kv.Value;
        a._items[key] = Normalize(value);
        return a;
    }

    private static object Normalize(object v) => v switch
    {
        int i => (long)i, float f => (double)f, int[] ia => ia.Select(x => (long)x).ToArray(),
        float[] fa => fa.Select(x => (double)x).ToArray(), IEnumerable<int> ie => ie.Select(x => (long)x).ToArray(),
        long or double or bool or string or long[] or double[] or DType => v,
        _ => throw new ArgumentException($"unsupported attribute value type {v.GetType().Name}"),
    };

    /// <summary>All attributes in key order.</summary>
    public IEnumerable<KeyValuePair<string, object>> Items => _items;
    /// <summary>True when <paramref name="key"/> is present.</summary>
    public bool Has(string key) => _items.ContainsKey(key);
    /// <summary>Number of attributes.</summary>
    public int Count => _items.Count;

    /// <summary>An integer attribute.</summary>
    public long GetLong(string key, long? dflt = null) => _items.TryGetValue(key, out var v) ? Convert.ToInt64(v) : dflt ?? throw Missing(key);
    /// <summary>An integer attribute as int.</summary>
    public int GetInt(string key, int? dflt = null) => checked((int)GetLong(key, dflt));
    /// <summary>A float attribute.</summary>
    public double GetDouble(string key, double? dflt = null) => _items.TryGetValue(key, out var v) ? Convert.ToDouble(v) : dflt ?? throw Missing(key);
    /// <summary>A float attribute as float.</summary>
    public float GetFloat(string key, float? dflt = null) => (float)GetDouble(key, dflt);
    /// <summary>A bool attribute.</summary>
    public bool GetBool(string key, bool? dflt = null) => _items.TryGetValue(key, out var v) ? (bool)v : dflt ?? throw Missing(key);
    /// <summary>A string attribute.</summary>
    public string GetString(string key, string? dflt = null) => _items.TryGetValue(key, out var v) ? (string)v : dflt ?? throw Missing(key);
    /// <summary>An int-list attribute.</summary>
    public int[] GetInts(string key, int[]? dflt = null) => _items.TryGetValue(key, out var v) ? ((long[])v).Select(x => checked((int)x)).ToArray() : dflt ?? throw Missing(key);
    /// <summary>A float-list attribute.</summary>
    public double[] GetDoubles(string key, double[]? dflt = null) => _items.TryGetValue(key, out var v) ? (double[])v : dflt ?? throw Missing(key);
    /// <summary>A dtype attribute (stored as DType or its name).</summary>
    public DType GetDType(string key, DType? dflt = null) => _items.TryGetValue(key, out var v) ? (v is DType d ? d : DTypeInfo.Parse((string)v)) : dflt ?? throw Missing(key);

    private static KeyNotFoundException Missing(string key) => new($"required attribute '{key}' is missing");

    /// <summary>Stable text: <c>{axis=-1, eps=1e-05}</c>; empty string when there are none.</summary>
    public override string ToString()
    {
        if (_items.Count == 0) return "";
        var sb = new StringBuilder("{");
        bool first = true;
        foreach (var (k, v) in _items)
        {
            if (!first) sb.Append(", ");
            first = false;
            sb.Append(k).Append('=').Append(Format(v));
        }
        return sb.Append('}').ToString();
    }

    private static string Format(object v) => v switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        string s => "\"" + s + "\"",
        long[] la => "[" + string.Join(",", la) + "]",
        double[] da => "[" + string.Join(",", da.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "]",
        DType t => t.ShortName(),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    /// <inheritdoc/>
    public bool Equals(Attrs? o) => o is not null && ToString() == o.ToString();
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Attrs a && Equals(a);
    /// <inheritdoc/>
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
