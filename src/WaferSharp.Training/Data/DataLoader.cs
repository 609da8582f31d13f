using WaferSharp.Tensors;

namespace WaferSharp.Training;

/// <summary>One batch: inputs and targets.</summary>
public readonly record struct Batch(DenseTensor X, DenseTensor Y);

/// <summary>
/// Batches a dataset. The sample stream is a pure function of (seed, batch index), so a loader can resume
/// at any batch: sample k of the stream is row perm_e(k mod N) of epoch e = k / N, where perm_e is a seeded
/// permutation (identity without shuffling). Batch i holds samples i·B … i·B+B-1 — without shuffling, rows
/// (i·B) mod N onward, wrapping around. Enumerating the loader yields one epoch (respecting DropLast).
/// </summary>
public sealed class DataLoader : IEnumerable<Batch>
{
    private int[]? _perm;
    private long _permEpoch = -1;

    /// <summary>Creates a loader.</summary>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be positive, got {batchSize}");
        Dataset = dataset; BatchSize = batchSize; Shuffle = shuffle; DropLast = dropLast; Seed = seed;
    }

    /// <summary>In-memory convenience.</summary>
    public DataLoader(DenseTensor x, DenseTensor y, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0)
        : this(new TensorDataset(x, y), batchSize, shuffle, dropLast, seed) { }

    /// <summary>The dataset.</summary>
    public IDataset Dataset { get; }
    /// <summary>Rows per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Seeded reshuffle every epoch.</summary>
    public bool Shuffle { get; }
    /// <summary>Drop a final partial batch when enumerating one epoch.</summary>
    public bool DropLast { get; }
    /// <summary>Shuffle seed.</summary>
    public ulong Seed { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    private int Row(long sample)
    {
        int n = Dataset.Count;
        if (!Shuffle) return (int)(sample % n);
        long epoch = sample / n;
        if (epoch != _permEpoch)
        {
            _perm = new Generator(Generator.Mix(Seed ^ (ulong)epoch * 0x9E3779B97F4A7C15UL)).Permutation(n);
            _permEpoch = epoch;
        }
        return _perm![sample % n];
    }

    /// <summary>Batch number <paramref name="index"/> of the endless stream (always full size).</summary>
    public Batch GetBatch(long index)
    {
        var rows = new int[BatchSize];
        for (int j = 0; j < rows.Length; j++) rows[j] = Row(index * BatchSize + j);
        var (x, y) = Dataset.Gather(rows);
        return new Batch(x, y);
    }

    /// <summary>One epoch of batches (epoch 0's order).</summary>
    public IEnumerator<Batch> GetEnumerator()
    {
        int n = Dataset.Count;
        for (int start = 0; start < n; start += BatchSize)
        {
            int len = Math.Min(BatchSize, n - start);
            if (len < BatchSize && DropLast) yield break;
            var rows = new int[len];
            for (int j = 0; j < len; j++) rows[j] = Row(start + j);
            var (x, y) = Dataset.Gather(rows);
            yield return new Batch(x, y);
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
