namespace WaferSharp.Tensors;

/// <summary>
/// Reuses large tensor buffers between the nodes of a graph and between steps. An executor installs its pool
/// on the running thread with <see cref="DenseTensor.UsePool"/>; tensor allocations on that thread then rent
/// from it, and the executor returns each intermediate's buffer after its last use. Small buffers are not
/// pooled (the GC's gen0 is cheaper); large ones otherwise land on the large-object heap every step.
/// </summary>
public sealed class BufferPool
{
    /// <summary>Buffers with fewer elements than this are allocated normally.</summary>
    public const int MinPooledLength = 4096;

    private readonly Dictionary<(Type, int), Stack<Array>> _free = new();

    /// <summary>Bytes currently held for reuse.</summary>
    public long HeldBytes { get; private set; }

    /// <summary>Takes a buffer of exactly <paramref name="length"/> elements of <paramref name="element"/>, or null.</summary>
    public Array? TryRent(Type element, int length)
    {
        if (length < MinPooledLength) return null;
        if (!_free.TryGetValue((element, length), out var s) || s.Count == 0) return null;
        var a = s.Pop();
        HeldBytes -= ByteLength(a);
        return a;
    }

    /// <summary>Gives a buffer back for reuse (the caller guarantees nothing else references it).</summary>
    public void Return(Array a)
    {
        if (a.Length < MinPooledLength) return;
        var key = (a.GetType().GetElementType()!, a.Length);
        if (!_free.TryGetValue(key, out var s)) _free[key] = s = new Stack<Array>();
        s.Push(a);
        HeldBytes += ByteLength(a);
    }

    private static long ByteLength(Array a) => (long)a.Length * System.Runtime.InteropServices.Marshal.SizeOf(a.GetType().GetElementType()!);

    /// <summary>Drops every held buffer.</summary>
    public void Clear() { _free.Clear(); HeldBytes = 0; }
}
