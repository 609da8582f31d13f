using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Tests.Training;

public class DataLoaderTests
{
    private static DataLoader Rows(int n, int b, bool shuffle = false, bool dropLast = false, ulong seed = 0)
    {
        var x = DenseTensor.FromArray(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), n, 1);
        var y = DenseTensor.FromArray(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), n);
        return new DataLoader(x, y, b, shuffle, dropLast, seed);
    }

    [Fact]
    public void UnshuffledBatchesWrapAround()
    {
        var l = Rows(10, 4);
        Assert.Equal(new float[] { 8, 9, 0, 1 }, l.GetBatch(2).X.ToFloatArray());
        Assert.Equal(new float[] { 2, 3, 4, 5 }, l.GetBatch(3).X.ToFloatArray());
    }

    [Fact]
    public void ShuffleIsSeededAndAPermutationPerEpoch()
    {
        var a = Rows(12, 4, shuffle: true, seed: 3);
        var b = Rows(12, 4, shuffle: true, seed: 3);
        var c = Rows(12, 4, shuffle: true, seed: 4);
        var ea = Enumerable.Range(0, 3).SelectMany(i => a.GetBatch(i).Y.ToInt64Array()).ToArray();
        Assert.Equal(ea, Enumerable.Range(0, 3).SelectMany(i => b.GetBatch(i).Y.ToInt64Array()).ToArray());
        Assert.NotEqual(ea, Enumerable.Range(0, 3).SelectMany(i => c.GetBatch(i).Y.ToInt64Array()).ToArray());
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), ea.OrderBy(v => v));
        var epoch2 = Enumerable.Range(3, 3).SelectMany(i => a.GetBatch(i).Y.ToInt64Array()).ToArray();
        Assert.NotEqual(ea, epoch2);
    }

    [Fact]
    public void EpochEnumerationRespectsDropLast()
    {
        Assert.Equal(3, Rows(10, 4).Count());
        Assert.Equal(2, Rows(10, 4, dropLast: true).Count());
        Assert.Equal(2, Rows(10, 4).Last().X.Shape[0]);
    }

    [Fact]
    public void MismatchedRowsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new TensorDataset(DenseTensor.Zeros(4, 2), DenseTensor.Zeros(5)));
        Assert.Contains("4 rows", e.Message);
    }

    [Fact]
    public void SchedulesFollowTheirFormulas()
    {
        Assert.Equal(0.5, new LinearWarmup(10).Factor(5), 12);
        Assert.Equal(1.0, new LinearWarmup(10).Factor(11), 12);
        Assert.Equal(1.0, new CosineDecay(100).Factor(1), 12);
        Assert.Equal(0.5, new CosineDecay(100).Factor(51), 12);
        Assert.Equal(0.1, new CosineDecay(100, 0.1).Factor(101), 12);
        Assert.Equal(0.01, new StepDecay(10, 0.1).Factor(21), 12);
    }
}
