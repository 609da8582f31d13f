namespace WaferSharp.Tensors;

/// <summary>
/// A dense, row-major, contiguous tensor with real storage. Storage is a typed array:
/// <c>float[]</c> (f32), <c>ushort[]</c> (bf16/f16 bit patterns), <c>long[]</c>, <c>int[]</c>, <c>bool[]</c>.
/// Kernels work on spans of that array; no per-element allocation anywhere.
/// </summary>
public sealed class DenseTensor
{
    /// <summary>Element type.</summary>
    public DType DType { get; }
    /// <summary>Dimensions.</summary>
    public Shape Shape { get; }
    /// <summary>The backing array (its runtime type follows <see cref="DType"/>).</summary>
    public Array Storage { get; }

    /// <summary>Wraps an existing backing array; its length must equal the shape's element count.</summary>
    public DenseTensor(DType dtype, Shape shape, Array storage)
    {
        long n = shape.Numel;
        if (storage.LongLength != n)
            throw new ArgumentException($"storage has {storage.LongLength} elements but shape {shape} needs {n}");
        var expected = StorageType(dtype);
        if (storage.GetType().GetElementType() != expected)
            throw new ArgumentException($"dtype {dtype.ShortName()} needs {expected.Name}[] storage, got {storage.GetType().Name}");
        DType = dtype; Shape = shape; Storage = storage;
    }

    /// <summary>Element count.</summary>
    public int Length => Storage.Length;
    /// <summary>Rank.</summary>
    public int Rank => Shape.Rank;

    /// <summary>The .NET element type used to store <paramref name="dtype"/>.</summary>
    public static Type StorageType(DType dtype) => dtype switch
    {
        DType.Float32 => typeof(float), DType.BFloat16 or DType.Float16 => typeof(ushort),
        DType.Int64 => typeof(long), DType.Int32 => typeof(int), DType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    [ThreadStatic] private static BufferPool? t_pool;

    /// <summary>Makes tensor allocations on this thread rent from <paramref name="pool"/> until disposed.</summary>
    public static IDisposable UsePool(BufferPool pool)
    {
        var saved = t_pool;
        t_pool = pool;
        return new PoolScope(saved);
    }

    private sealed class PoolScope(BufferPool? saved) : IDisposable
    {
        public void Dispose() => t_pool = saved;
    }

    private static Array? Rent(DType dtype, long n) =>
        t_pool is { } p && n <= Array.MaxLength ? p.TryRent(StorageType(dtype), (int)n) : null;

    private static Array Allocate(DType dtype, long n)
    {
        if (n > Array.MaxLength) throw new InvalidOperationException($"tensor of {n} elements exceeds the largest array .NET can allocate; build this model shape-only");
        if (Rent(dtype, n) is { } pooled) { Array.Clear(pooled); return pooled; }
        int c = (int)n;
        return dtype switch
        {
            DType.Float32 => new float[c], DType.BFloat16 or DType.Float16 => new ushort[c],
            DType.Int64 => new long[c], DType.Int32 => new int[c], DType.Bool => new bool[c],
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }

    /// <summary>A zero-filled tensor.</summary>
    public static DenseTensor Zeros(Shape shape, DType dtype = DType.Float32) => new(dtype, shape, Allocate(dtype, shape.Numel));
    /// <summary>
    /// A tensor whose contents are garbage, for kernels that overwrite every element: skips the zero-fill,
    /// which matters for the large per-step buffers of training.
    /// </summary>
    public static DenseTensor Uninitialized(Shape shape, DType dtype = DType.Float32)
    {
        long n = shape.Numel;
        if (n > Array.MaxLength) return Zeros(shape, dtype); // throws the clear size error
        if (Rent(dtype, n) is { } pooled) return new DenseTensor(dtype, shape, pooled);
        int c = (int)n;
        Array a = dtype switch
        {
            DType.Float32 => GC.AllocateUninitializedArray<float>(c),
            DType.BFloat16 or DType.Float16 => GC.AllocateUninitializedArray<ushort>(c),
            DType.Int64 => GC.AllocateUninitializedArray<long>(c),
            DType.Int32 => GC.AllocateUninitializedArray<int>(c),
            _ => new bool[c],
        };
        return new DenseTensor(dtype, shape, a);
    }

    /// <summary>A zero-filled float32 tensor.</summary>
    public static DenseTensor Zeros(params int[] dims) => Zeros(new Shape(dims));
    /// <summary>A float32 tensor filled with <paramref name="value"/>.</summary>
    public static DenseTensor Full(Shape shape, float value) { var t = Zeros(shape); t.AsFloat().Fill(value); return t; }
    /// <summary>A float32 tensor over the given data (not copied).</summary>
    public static DenseTensor FromArray(float[] data, params int[] dims) => new(DType.Float32, new Shape(dims), data);
    /// <summary>An int64 tensor over the given data (not copied).</summary>
    public static DenseTensor FromArray(long[] data, params int[] dims) => new(DType.Int64, new Shape(dims), data);
    /// <summary>An int32 tensor over the given data (not copied).</summary>
    public static DenseTensor FromArray(int[] data, params int[] dims) => new(DType.Int32, new Shape(dims), data);
    /// <summary>A bool tensor over the given data (not copied).</summary>
    public static DenseTensor FromArray(bool[] data, params int[] dims) => new(DType.Bool, new Shape(dims), data);
    /// <summary>A rank-0 float32 tensor.</summary>
    public static DenseTensor Scalar(float v) => new(DType.Float32, Shape.Scalar, new[] { v });
    /// <summary>A rank-0 int64 tensor.</summary>
    public static DenseTensor Scalar(long v) => new(DType.Int64, Shape.Scalar, new[] { v });

    /// <summary>Float32 elements (throws for other dtypes).</summary>
    public Span<float> AsFloat() => Storage is float[] f ? f : throw WrongType(DType.Float32);
    /// <summary>16-bit float bit patterns (bf16/f16).</summary>
    public Span<ushort> AsUInt16() => Storage is ushort[] u ? u : throw WrongType(DType.BFloat16);
    /// <summary>Int64 elements.</summary>
    public Span<long> AsInt64() => Storage is long[] l ? l : throw WrongType(DType.Int64);
    /// <summary>Int32 elements.</summary>
    public Span<int> AsInt32() => Storage is int[] i ? i : throw WrongType(DType.Int32);
    /// <summary>Bool elements.</summary>
    public Span<bool> AsBool() => Storage is bool[] b ? b : throw WrongType(DType.Bool);

    private InvalidOperationException WrongType(DType want) =>
        new($"tensor of dtype {DType.ShortName()} {Shape} was used where {want.ShortName()} was expected");

    /// <summary>Element <paramref name="i"/> (flat index) as a double, whatever the dtype.</summary>
    public double GetDouble(int i) => Storage switch
    {
        float[] f => f[i],
        ushort[] u => DType == DType.BFloat16 ? Float16Bits.FromBFloat16(u[i]) : Float16Bits.FromHalf(u[i]),
        long[] l => l[i], int[] n => n[i], bool[] b => b[i] ? 1 : 0,
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Sets element <paramref name="i"/> from a double, converting to the dtype.</summary>
    public void SetDouble(int i, double v)
    {
        switch (Storage)
        {
            case float[] f: f[i] = (float)v; break;
            case ushort[] u: u[i] = DType == DType.BFloat16 ? Float16Bits.ToBFloat16((float)v) : Float16Bits.ToHalf((float)v); break;
            case long[] l: l[i] = (long)v; break;
            case int[] n: n[i] = (int)v; break;
            case bool[] b: b[i] = v != 0; break;
        }
    }

    /// <summary>Element as float (any dtype); for tests and small host-side reads.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get => (float)GetDouble(FlatIndex(index));
        set => SetDouble(FlatIndex(index), value);
    }

    private int FlatIndex(int[] index)
    {
        if (index.Length != Rank) throw new ArgumentException($"index of rank {index.Length} for tensor of shape {Shape}");
        long flat = 0;
        for (int d = 0; d < Rank; d++)
        {
            if ((uint)index[d] >= (uint)Shape[d]) throw new IndexOutOfRangeException($"index {index[d]} out of range for dim {d} of {Shape}");
            flat = flat * Shape[d] + index[d];
        }
        return (int)flat;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public double Item() => Length == 1 ? GetDouble(0) : throw new InvalidOperationException($"Item() needs one element, tensor has shape {Shape}");

    /// <summary>Deep copy.</summary>
    public DenseTensor Clone()
    {
        var t = Uninitialized(Shape, DType); // rents from the thread's pool when one is installed
        Array.Copy(Storage, t.Storage, Storage.Length);
        return t;
    }

    /// <summary>Same storage, new shape with equal element count.</summary>
    public DenseTensor Reshape(Shape shape)
    {
        if (shape.Numel != Shape.Numel) throw new ArgumentException($"cannot reshape {Shape} ({Shape.Numel} elements) to {shape} ({shape.Numel} elements)");
        return new DenseTensor(DType, shape, Storage);
    }

    /// <summary>Converts to another dtype (copy). Float→int truncates toward zero as PyTorch does.</summary>
    public DenseTensor To(DType target)
    {
        if (target == DType) return Clone();
        var r = Zeros(Shape, target);
        int n = Length;
        if (DType.IsFloating() || target.IsFloating())
        {
            // Route through float32: exact for every 16-bit format, and the way PyTorch casts.
            var f = target == DType.Float32 ? r.AsFloat() : new float[n];
            ReadFloat(f);
            if (target != DType.Float32) r.WriteFloat(f);
        }
        else for (int i = 0; i < n; i++) r.SetDouble(i, GetDouble(i));
        return r;
    }

    /// <summary>Copies the elements, converted to float32, into <paramref name="dst"/>.</summary>
    public void ReadFloat(Span<float> dst)
    {
        switch (Storage)
        {
            case float[] f: f.AsSpan().CopyTo(dst); break;
            case ushort[] u when DType == DType.BFloat16: for (int i = 0; i < u.Length; i++) dst[i] = Float16Bits.FromBFloat16(u[i]); break;
            case ushort[] u: for (int i = 0; i < u.Length; i++) dst[i] = Float16Bits.FromHalf(u[i]); break;
            case long[] l: for (int i = 0; i < l.Length; i++) dst[i] = l[i]; break;
            case int[] n: for (int i = 0; i < n.Length; i++) dst[i] = n[i]; break;
            case bool[] b: for (int i = 0; i < b.Length; i++) dst[i] = b[i] ? 1f : 0f; break;
        }
    }

    /// <summary>Stores float32 values into this tensor, converting (integers truncate toward zero).</summary>
    public void WriteFloat(ReadOnlySpan<float> src)
    {
        switch (Storage)
        {
            case float[] f: src.CopyTo(f); break;
            case ushort[] u when DType == DType.BFloat16: for (int i = 0; i < u.Length; i++) u[i] = Float16Bits.ToBFloat16(src[i]); break;
            case ushort[] u: for (int i = 0; i < u.Length; i++) u[i] = Float16Bits.ToHalf(src[i]); break;
            case long[] l: for (int i = 0; i < l.Length; i++) l[i] = (long)src[i]; break;
            case int[] n: for (int i = 0; i < n.Length; i++) n[i] = (int)src[i]; break;
            case bool[] b: for (int i = 0; i < b.Length; i++) b[i] = src[i] != 0; break;
        }
    }

    /// <summary>Float32 view: this tensor if already f32, else a converted copy.</summary>
    public DenseTensor AsFloat32() => DType == DType.Float32 ? this : To(DType.Float32);

    /// <summary>Elements as a new float array (any dtype).</summary>
    public float[] ToFloatArray() { var a = new float[Length]; ReadFloat(a); return a; }

    /// <summary>Elements as a new long array (integer or bool dtypes; floats truncate).</summary>
    public long[] ToInt64Array() { var a = new long[Length]; for (int i = 0; i < a.Length; i++) a[i] = (long)GetDouble(i); return a; }

    /// <summary>Bitwise equality of dtype, shape and contents.</summary>
    public bool BitEquals(DenseTensor o)
    {
        if (o.DType != DType || !o.Shape.Equals(Shape)) return false;
        return Storage switch
        {
            float[] f => f.AsSpan().SequenceEqual((float[])o.Storage),
            ushort[] u => u.AsSpan().SequenceEqual((ushort[])o.Storage),
            long[] l => l.AsSpan().SequenceEqual((long[])o.Storage),
            int[] n => n.AsSpan().SequenceEqual((int[])o.Storage),
            bool[] b => b.AsSpan().SequenceEqual((bool[])o.Storage),
            _ => false,
        };
    }

    /// <summary>Short description: dtype and shape.</summary>
    public override string ToString() => $"DenseTensor({DType.ShortName()}{Shape})";
}
