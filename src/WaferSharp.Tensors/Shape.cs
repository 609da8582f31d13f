using System.Collections;

namespace WaferSharp.Tensors;

/// <summary>An immutable list of dimension sizes (row-major). Rank 0 is a scalar.</summary>
public sealed class Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private readonly int[] _dims;

    /// <summary>The scalar shape <c>[]</c>.</summary>
    public static readonly Shape Scalar = new();

    /// <summary>Creates a shape; every dimension must be non-negative.</summary>
    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"shape {Format(dims)} has a negative dimension");
        _dims = (int[])dims.Clone();
    }

    /// <summary>Creates a shape from any sequence of dims.</summary>
    public Shape(IEnumerable<int> dims) : this(dims.ToArray()) { }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;
    /// <summary>Dimension count (same as <see cref="Rank"/>).</summary>
    public int Count => _dims.Length;
    /// <summary>Size of dimension <paramref name="i"/>; negative indexes count from the end.</summary>
    public int this[int i] => _dims[i < 0 ? i + _dims.Length : i];
    /// <summary>The dims as a read-only span.</summary>
    public ReadOnlySpan<int> Dims => _dims;

    /// <summary>Total number of elements, as a 64-bit count (shape-only graphs exceed 2^31).</summary>
    public long Numel
    {
        get { long n = 1; foreach (var d in _dims) n = checked(n * d); return n; }
    }

    /// <summary>Row-major element strides.</summary>
    public long[] Strides()
    {
        var s = new long[_dims.Length];
        long acc = 1;
        for (int i = _dims.Length - 1; i >= 0; i--) { s[i] = acc; acc *= _dims[i]; }
        return s;
    }

    /// <summary>Normalizes a possibly-negative axis for this rank, with a clear error when out of range.</summary>
    public int Axis(int axis)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Math.Max(Rank, 1) || (Rank == 0 && a != 0))
            throw new ArgumentException($"axis {axis} is out of range for shape {this}");
        return a;
    }

    /// <summary>Returns a copy with dimension <paramref name="axis"/> replaced.</summary>
    public Shape With(int axis, int size) { var d = (int[])_dims.Clone(); d[Axis(axis)] = size; return new Shape(d); }

    /// <summary>Product of dims in [start, end).</summary>
    public long Prod(int start, int end) { long n = 1; for (int i = start; i < end; i++) n *= _dims[i]; return n; }

    /// <summary>NumPy broadcasting of two shapes; throws naming both shapes when incompatible.</summary>
    public static Shape Broadcast(Shape a, Shape b)
    {
        if (a.Equals(b)) return a;
        int r = Math.Max(a.Rank, b.Rank);
        var d = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Rank) >= 0 ? a._dims[i - (r - a.Rank)] : 1;
            int db = i - (r - b.Rank) >= 0 ? b._dims[i - (r - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"shapes {a} and {b} cannot be broadcast together (dim {i}: {da} vs {db})");
            d[i] = da == 1 ? db : da;
        }
        return new Shape(d);
    }

    /// <summary>The dims as a new array.</summary>
    public int[] ToArray() => (int[])_dims.Clone();

    /// <inheritdoc/>
    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    /// <inheritdoc/>
    public override int GetHashCode() { var h = new HashCode(); foreach (var d in _dims) h.Add(d); return h.ToHashCode(); }
    /// <summary>Formats as <c>[2,3,4]</c>.</summary>
    public override string ToString() => Format(_dims);
    private static string Format(int[] d) => "[" + string.Join(",", d) + "]";
    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_dims).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => _dims.GetEnumerator();
    /// <summary>Value equality.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);
    /// <summary>Value inequality.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);
}
