using System.IO.Compression;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.IO;

public sealed class NpzTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static List<KeyValuePair<string, DenseTensor>> AllDTypeArrays()
    {
        var list = new List<KeyValuePair<string, DenseTensor>>();
        int seed = 0;
        foreach (var dt in IoTestUtil.AllDTypes)
            foreach (var dims in new[] { new[] { 2, 3 }, [], [0, 4] })
                list.Add(new($"{dt.ShortName()}_r{dims.Length}_{seed}", IoTestUtil.RandomTensor(dt, dims, seed++)));
        // Deliberately unsorted keys to check that archive order is kept; a key with a folder separator too.
        list.Insert(0, new("zeta", DenseTensor.FromArray(new[] { 1f, 2f }, 2)));
        list.Add(new("layer.0/weight", DenseTensor.FromArray(new long[] { 9 }, 1)));
        return list;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTrip_AllDTypes_KeepsOrder(bool compressed)
    {
        var arrays = AllDTypeArrays();
        string path = _dir.File("a.npz");
        Npz.Write(path, arrays, compressed);
        IoTestUtil.AssertNoTempFiles(_dir.Path);

        var back = Npz.Read(path);
        Assert.Equal(arrays.Select(kv => kv.Key), back.Keys);
        foreach (var (key, t) in arrays)
            IoTestUtil.AssertBitEqual(t.DType == DType.BFloat16 ? t.To(DType.Float32) : t, back[key]);

        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(arrays.Select(kv => kv.Key + ".npy"), zip.Entries.Select(e => e.FullName));
        if (!compressed)
            Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength));
    }

    [Fact]
    public void Compressed_IsSmallerForRepetitiveData()
    {
        var big = new[] { new KeyValuePair<string, DenseTensor>("z", DenseTensor.Zeros(64, 64)) };
        Npz.Write(_dir.File("s.npz"), big);
        Npz.Write(_dir.File("c.npz"), big, compressed: true);
        Assert.True(new FileInfo(_dir.File("c.npz")).Length * 10 < new FileInfo(_dir.File("s.npz")).Length);
        IoTestUtil.AssertBitEqual(big[0].Value, Npz.Read(_dir.File("c.npz"))["z"]);
    }

    [Fact]
    public void Write_IsDeterministic()
    {
        var arrays = AllDTypeArrays();
        Npz.Write(_dir.File("1.npz"), arrays, compressed: true);
        Npz.Write(_dir.File("2.npz"), arrays, compressed: true);
        Assert.Equal(File.ReadAllBytes(_dir.File("1.npz")), File.ReadAllBytes(_dir.File("2.npz")));
    }

    [Fact]
    public void Empty_Archive()
    {
        Npz.Write(_dir.File("e.npz"), []);
        Assert.Empty(Npz.Read(_dir.File("e.npz")));
    }

    [Theory]
    [InlineData("stored.npz")]
    [InlineData("compressed.npz")]
    public void Golden_NumPyArchives_ReadExactly(string name)
    {
        var d = Npz.Read(IoTestUtil.Fixture(name));
        Assert.Equal(new[] { "a", "b", "c" }, d.Keys);
        Assert.Equal(new Shape(2, 3), d["a"].Shape);
        Assert.Equal(new[] { 0f, 1, 2, 3, 4, 5 }, d["a"].AsFloat().ToArray());
        Assert.Equal(new[] { 7L, -8L }, d["b"].AsInt64().ToArray());
        Assert.Equal(new[] { true, false }, d["c"].AsBool().ToArray());
    }

    // ---------------------------------------------------------------- corrupt

    [Fact]
    public void Reject_NotAZip()
    {
        string path = _dir.File("bad.npz");
        File.WriteAllBytes(path, "this is not a zip archive at all, just text"u8.ToArray());
        var e = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("np.savez", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Reject_TruncatedZip()
    {
        string path = _dir.File("t.npz");
        Npz.Write(path, AllDTypeArrays(), compressed: true);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Reject_NonNpyMember_And_BadMemberNamesMember()
    {
        string path = _dir.File("m.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var w = new StreamWriter(zip.CreateEntry("notes.txt").Open());
            w.Write("hello");
        }
        var e = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains("notes.txt", e.Message);
        Assert.Contains(path, e.Message);

        File.Delete(path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("x.npy").Open();
            s.Write("\x93NUMPY garbage"u8);
        }
        var e2 = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains("x.npy", e2.Message);
        Assert.Contains(path, e2.Message);
    }

    [Fact]
    public void Reject_CorruptDeflateStream()
    {
        string path = _dir.File("d.npz");
        Npz.Write(path, [new("a", IoTestUtil.RandomTensor(DType.Float32, [50], 3))], compressed: true);
        var bytes = File.ReadAllBytes(path);
        // Local header is 30 bytes + name "a.npy" (5): scribble over the deflate payload.
        for (int i = 40; i < 80; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    // ----------------------------------------------------------------- atomic

    [Fact]
    public void AtomicWrite_DuplicateKey_DoesNotReplaceExisting()
    {
        string path = _dir.File("x.npz");
        File.WriteAllText(path, "keep me");
        var arrays = new KeyValuePair<string, DenseTensor>[]
        {
            new("a", DenseTensor.Scalar(1f)),
            new("a", DenseTensor.Scalar(2f)),
        };
        Assert.Throws<ArgumentException>(() => Npz.Write(path, arrays));
        Assert.Equal("keep me", File.ReadAllText(path));
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    [Fact]
    public void AtomicWrite_ThrowingSource_DoesNotReplaceExisting()
    {
        string path = _dir.File("y.npz");
        File.WriteAllText(path, "keep me");
        static IEnumerable<KeyValuePair<string, DenseTensor>> Broken()
        {
            yield return new("a", DenseTensor.Zeros(100, 100));
            throw new InvalidOperationException("source failed");
        }
        var e = Assert.Throws<InvalidOperationException>(() => Npz.Write(path, Broken(), compressed: true));
        Assert.Equal("source failed", e.Message);
        Assert.Equal("keep me", File.ReadAllText(path));
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    // ------------------------------------------------------------------- fuzz

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fuzz_OnlyInvalidDataExceptionEscapes(bool compressed)
    {
        string src = _dir.File("src.npz");
        Npz.Write(src, [
            new("w", IoTestUtil.RandomTensor(DType.Float32, [4, 3], 5)),
            new("ids", IoTestUtil.RandomTensor(DType.Int64, [3], 6)),
            new("mask", IoTestUtil.RandomTensor(DType.Bool, [5], 7)),
        ], compressed);
        var valid = File.ReadAllBytes(src);
        string path = _dir.File("fuzz.npz");
        IoTestUtil.Fuzz(valid, compressed ? 101 : 202, m =>
        {
            File.WriteAllBytes(path, m);
            var e = Record.Exception(() => Npz.Read(path));
            if (e is InvalidDataException ide) Assert.Contains(path, ide.Message);
            if (e != null) throw e;
        });
    }
}
