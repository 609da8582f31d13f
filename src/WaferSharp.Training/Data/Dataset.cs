using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Training;

/// <summary>Rows of inputs and targets that a loader batches.</summary>
public interface IDataset
{
    /// <summary>Number of rows.</summary>
    int Count { get; }
    /// <summary>Copies the given rows into one input batch and one target batch.</summary>
    (DenseTensor X, DenseTensor Y) Gather(ReadOnlySpan<int> rows);
}

/// <summary>In-memory arrays: row i is x[i] and y[i] (first dims must agree).</summary>
public sealed class TensorDataset : IDataset
{
    /// <summary>Inputs [N, ...].</summary>
    public DenseTensor X { get; }
    /// <summary>Targets [N, ...].</summary>
    public DenseTensor Y { get; }

    /// <summary>Wraps two arrays with the same number of rows.</summary>
    public TensorDataset(DenseTensor x, DenseTensor y)
    {
        if (x.Rank == 0 || y.Rank == 0) throw new ArgumentException($"dataset arrays need a leading row dim, got {x.Shape} and {y.Shape}");
        if (x.Shape[0] != y.Shape[0]) throw new ArgumentException($"inputs have {x.Shape[0]} rows but targets have {y.Shape[0]} ({x.Shape} vs {y.Shape})");
        if (x.Shape[0] == 0) throw new ArgumentException("dataset is empty");
        X = x; Y = y;
    }

    /// <summary>Loads two arrays of an .npz file.</summary>
    public static TensorDataset FromNpz(string path, string xKey = "x", string yKey = "y")
    {
        var d = Npz.Read(path);
        if (!d.TryGetValue(xKey, out var x)) throw new KeyNotFoundException($"{path} has no array '{xKey}' (it has: {string.Join(", ", d.Keys)})");
        if (!d.TryGetValue(yKey, out var y)) throw new KeyNotFoundException($"{path} has no array '{yKey}' (it has: {string.Join(", ", d.Keys)})");
        return new TensorDataset(x, y);
    }

    /// <summary>Loads two .npy files.</summary>
    public static TensorDataset FromNpy(string xPath, string yPath) => new(Npy.Read(xPath), Npy.Read(yPath));

    /// <inheritdoc/>
    public int Count => X.Shape[0];

    /// <inheritdoc/>
    public (DenseTensor X, DenseTensor Y) Gather(ReadOnlySpan<int> rows) => (Rows(X, rows), Rows(Y, rows));

    private static DenseTensor Rows(DenseTensor t, ReadOnlySpan<int> rows)
    {
        var shape = t.Shape.With(0, rows.Length);
        var o = DenseTensor.Zeros(shape, t.DType);
        int w = (int)t.Shape.Prod(1, t.Rank);
        for (int i = 0; i < rows.Length; i++)
            Array.Copy(t.Storage, (long)rows[i] * w, o.Storage, (long)i * w, w);
        return o;
    }
}
