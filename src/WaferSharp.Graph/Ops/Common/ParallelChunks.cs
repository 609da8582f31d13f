namespace WaferSharp.Graph.Ops;

/// <summary>Splits big elementwise kernels into contiguous chunks run in parallel; small ones run inline.</summary>
public static class ParallelChunks
{
    /// <summary>Element count from which kernels go parallel (below it thread hand-off costs more than it saves).</summary>
    public const int Threshold = 1 << 16;

    /// <summary>Calls <paramref name="body"/>(start, length) over [0, n): inline when small, else in parallel chunks.</summary>
    public static void For(int n, Action<int, int> body)
    {
        if (n < Threshold || Environment.ProcessorCount == 1) { if (n > 0) body(0, n); return; }
        int chunks = Math.Min(Environment.ProcessorCount * 4, (n + 8191) / 8192);
        int size = (n + chunks - 1) / chunks;
        Parallel.For(0, chunks, c =>
        {
            int start = c * size;
            int len = Math.Min(size, n - start);
            if (len > 0) body(start, len);
        });
    }
}
