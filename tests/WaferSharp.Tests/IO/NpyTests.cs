using System.Buffers.Binary;
using System.Text;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.IO;

/// <summary>Shared helpers for the IO tests.</summary>
internal static class IoTestUtil
{
    public static readonly DType[] AllDTypes = [DType.Float32, DType.BFloat16, DType.Float16, DType.Int64, DType.Int32, DType.Bool];

    public static readonly int[][] Shapes = [[], [0], [1], [5], [2, 3], [2, 0, 4], [3, 1, 2, 2]];

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "io", name);

    /// <summary>A tensor with seeded random contents (finite floats only, so bitwise comparisons are meaningful).</summary>
    public static DenseTensor RandomTensor(DType dtype, int[] dims, int seed)
    {
        var t = DenseTensor.Zeros(new Shape(dims), dtype);
        var rng = new Random(seed);
        switch (t.Storage)
        {
            case float[] f: for (int i = 0; i < f.Length; i++) f[i] = (float)(rng.NextDouble() * 200 - 100); break;
            case ushort[] u when dtype == DType.BFloat16: for (int i = 0; i < u.Length; i++) u[i] = Float16Bits.ToBFloat16((float)(rng.NextDouble() * 200 - 100)); break;
            case ushort[] u: for (int i = 0; i < u.Length; i++) u[i] = Float16Bits.ToHalf((float)(rng.NextDouble() * 200 - 100)); break;
            case long[] l: for (int i = 0; i < l.Length; i++) l[i] = rng.NextInt64(long.MinValue, long.MaxValue); break;
            case int[] n: for (int i = 0; i < n.Length; i++) n[i] = rng.Next(int.MinValue, int.MaxValue); break;
            case bool[] b: for (int i = 0; i < b.Length; i++) b[i] = rng.Next(2) == 1; break;
        }
        return t;
    }

    public static void AssertBitEqual(DenseTensor expected, DenseTensor actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(expected.BitEquals(actual), $"contents differ for {expected}");
    }

    /// <summary>Asserts that no "*.tmp-*" files were left in <paramref name="dir"/>.</summary>
    public static void AssertNoTempFiles(string dir) =>
        Assert.DoesNotContain(Directory.GetFileSystemEntries(dir), f => Path.GetFileName(f).Contains(".tmp-"));

    /// <summary>Seeded random corruptions of <paramref name="valid"/>: byte flips, truncations, insertions, deletions.</summary>
    public static IEnumerable<byte[]> Mutations(byte[] valid, int count, int seed)
    {
        var rng = new Random(seed);
        byte[] interesting = [0, 1, 0x7F, 0x80, 0xFF, (byte)'9', (byte)' ', (byte)'(', (byte)')', (byte)',', (byte)'\'', (byte)'{', (byte)'"', (byte)'-'];
        for (int k = 0; k < count; k++)
        {
            var b = new List<byte>(valid);
            int edits = 1 + rng.Next(3);
            for (int e = 0; e < edits && b.Count > 0; e++)
            {
                // Half the edits land in the first 160 bytes, where the headers live.
                int pos = rng.Next(2) == 0 ? rng.Next(Math.Min(160, b.Count)) : rng.Next(b.Count);
                switch (rng.Next(7))
                {
                    case 0: b[pos] ^= (byte)rng.Next(1, 256); break;
                    case 1: b[pos] = interesting[rng.Next(interesting.Length)]; break;
                    case 2: b.RemoveRange(pos, b.Count - pos); break; // truncate
                    case 3: b.Insert(pos, (byte)rng.Next(256)); break;
                    case 4: b.RemoveAt(pos); break;
                    case 5: for (int i = pos; i < Math.Min(pos + 8, b.Count); i++) b[i] = (byte)rng.Next(256); break;
                    case 6: b[pos] = (byte)(b[pos] + (rng.Next(2) == 0 ? 1 : -1)); break;
                }
            }
            yield return b.ToArray();
        }
    }

    /// <summary>Runs <paramref name="read"/> on every mutation and fails if anything other than InvalidDataException escapes.</summary>
    public static void Fuzz(byte[] valid, int seed, Action<byte[]> read, int count = 500)
    {
        var failures = new List<string>();
        int rejected = 0, index = 0;
        foreach (var m in Mutations(valid, count, seed))
        {
            try { read(m); }
            catch (InvalidDataException e)
            {
                rejected++;
                if (e.Message.Contains('\n')) failures.Add($"#{index}: multi-line message: {e.Message}");
            }
            catch (Exception e)
            {
                failures.Add($"#{index}: {e.GetType().Name}: {e.Message}");
            }
            index++;
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mutations escaped as other exceptions:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(rejected > count / 10, $"only {rejected} of {count} mutations were rejected; the fuzzer is not exercising the reader");
    }
}

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("wafersharp-io-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

/// <summary>Wraps a stream and hides its seekability (like a deflate or network stream).</summary>
internal sealed class NonSeekableStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 7)); // short reads on purpose
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

public sealed class NpyTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    // ------------------------------------------------------------ builders

    /// <summary>Builds a .npy file from a header dict literal (padded like NumPy) and raw data bytes.</summary>
    private static byte[] BuildNpy(string dict, byte[] data, int major = 1, bool pad = true)
    {
        int pre = major == 1 ? 10 : 12;
        var enc = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        string h = dict;
        if (pad)
        {
            int len = enc.GetByteCount(h) + 1;
            int total = (pre + len + 63) / 64 * 64;
            h += new string(' ', total - pre - len) + "\n";
        }
        var hb = enc.GetBytes(h);
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0]);
        Span<byte> n = stackalloc byte[4];
        if (major == 1) { BinaryPrimitives.WriteUInt16LittleEndian(n, (ushort)hb.Length); ms.Write(n[..2]); }
        else { BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)hb.Length); ms.Write(n); }
        ms.Write(hb);
        ms.Write(data);
        return ms.ToArray();
    }

    private static string Dict(string descr, string shape, bool fortran = false) =>
        $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";

    private static DenseTensor ReadBytes(byte[] b) => Npy.Read(new MemoryStream(b));

    private static InvalidDataException Rejects(byte[] b, params string[] fragments)
    {
        var e = Assert.Throws<InvalidDataException>(() => ReadBytes(b));
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // The non-seekable path must reject the same input too.
        Assert.Throws<InvalidDataException>(() => Npy.Read(new NonSeekableStream(new MemoryStream(b))));
        return e;
    }

    private static byte[] F32Bytes(params float[] v) { var b = new byte[v.Length * 4]; for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), v[i]); return b; }

    // ---------------------------------------------------------- round trips

    public static TheoryData<DType, int> RoundTripCases()
    {
        var d = new TheoryData<DType, int>();
        foreach (var t in IoTestUtil.AllDTypes)
            for (int s = 0; s < IoTestUtil.Shapes.Length; s++) d.Add(t, s);
        return d;
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void RoundTrip_EveryDTypeAndShape(DType dtype, int shapeIndex)
    {
        var t = IoTestUtil.RandomTensor(dtype, IoTestUtil.Shapes[shapeIndex], 17 + shapeIndex);
        // bf16 is written as float32 (NumPy has no bf16); the widening is exact.
        var expected = dtype == DType.BFloat16 ? t.To(DType.Float32) : t;

        var ms = new MemoryStream();
        Npy.Write(ms, t);
        long dataBytes = t.Length * (long)(dtype == DType.BFloat16 ? 4 : dtype.Size());
        Assert.Equal(0, (ms.Length - dataBytes) % 64); // preamble (magic + header) is 64-byte aligned
        ms.Position = 0;
        IoTestUtil.AssertBitEqual(expected, Npy.Read(ms));
        Assert.Equal(ms.Length, ms.Position);
        ms.Position = 0;
        IoTestUtil.AssertBitEqual(expected, Npy.Read(new NonSeekableStream(ms)));

        string path = _dir.File("t.npy");
        Npy.Write(path, t);
        IoTestUtil.AssertBitEqual(expected, Npy.Read(path));
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    [Fact]
    public void Write_HeaderMatchesNumPyLayout()
    {
        var ms = new MemoryStream();
        Npy.Write(ms, DenseTensor.FromArray(new float[6], 2, 3));
        var b = ms.ToArray();
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, b[..8]);
        int hlen = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8));
        Assert.Equal(0, (10 + hlen) % 64);
        string header = Encoding.ASCII.GetString(b, 10, hlen);
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header.TrimEnd(' ', '\n'));
        Assert.EndsWith("\n", header);
        Assert.Equal(10 + hlen + 24, b.Length);

        string Header(DenseTensor t) { var m = new MemoryStream(); Npy.Write(m, t); var a = m.ToArray(); return Encoding.ASCII.GetString(a, 10, BinaryPrimitives.ReadUInt16LittleEndian(a.AsSpan(8))).TrimEnd(); }
        Assert.Contains("'shape': (), }", Header(DenseTensor.Scalar(1f)));
        Assert.Contains("'shape': (4,), }", Header(DenseTensor.FromArray(new long[4], 4)));
        Assert.Contains("'descr': '|b1'", Header(DenseTensor.FromArray(new bool[1], 1)));
        Assert.Contains("'descr': '<f4'", Header(DenseTensor.Zeros(new Shape(2), DType.BFloat16)));
        Assert.Contains("'descr': '<f2'", Header(DenseTensor.Zeros(new Shape(2), DType.Float16)));
        Assert.Contains("'descr': '<i4'", Header(DenseTensor.FromArray(new int[1], 1)));
    }

    [Fact]
    public void Write_UsesV2WhenHeaderExceeds64K_AndReadsBack()
    {
        var dims = Enumerable.Repeat(1, 25_000).ToArray();
        var t = DenseTensor.FromArray(new float[] { 42f }, dims);
        var ms = new MemoryStream();
        Npy.Write(ms, t);
        var b = ms.ToArray();
        Assert.Equal(2, b[6]);
        uint hlen = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
        Assert.True(hlen > ushort.MaxValue);
        Assert.Equal(0u, (12 + hlen) % 64);
        var back = ReadBytes(b);
        Assert.Equal(25_000, back.Rank);
        Assert.Equal(42f, back.AsFloat()[0]);
    }

    [Fact]
    public void Read_SeveralArraysFromOneStream()
    {
        var ms = new MemoryStream();
        Npy.Write(ms, DenseTensor.FromArray(new[] { 1f, 2f }, 2));
        Npy.Write(ms, DenseTensor.FromArray(new long[] { 3 }, 1));
        ms.Position = 0;
        Assert.Equal(new[] { 1f, 2f }, Npy.Read(ms).AsFloat().ToArray());
        Assert.Equal(new long[] { 3 }, Npy.Read(ms).AsInt64().ToArray());
    }

    // ------------------------------------------------------ hand-built reads

    [Fact]
    public void Read_BigEndianVariants()
    {
        var f4 = new byte[8]; BinaryPrimitives.WriteSingleBigEndian(f4, 1.5f); BinaryPrimitives.WriteSingleBigEndian(f4.AsSpan(4), -3f);
        Assert.Equal(new[] { 1.5f, -3f }, ReadBytes(BuildNpy(Dict(">f4", "(2,)"), f4)).AsFloat().ToArray());

        var f8 = new byte[16]; BinaryPrimitives.WriteDoubleBigEndian(f8, 0.25); BinaryPrimitives.WriteDoubleBigEndian(f8.AsSpan(8), 0.1);
        var t8 = ReadBytes(BuildNpy(Dict(">f8", "(2,)"), f8));
        Assert.Equal(DType.Float32, t8.DType);
        Assert.Equal(new[] { 0.25f, (float)0.1 }, t8.AsFloat().ToArray());

        var i8 = new byte[16]; BinaryPrimitives.WriteInt64BigEndian(i8, long.MinValue + 5); BinaryPrimitives.WriteInt64BigEndian(i8.AsSpan(8), 1L << 50);
        Assert.Equal(new[] { long.MinValue + 5, 1L << 50 }, ReadBytes(BuildNpy(Dict(">i8", "(2, 1)"), i8)).AsInt64().ToArray());

        var i4 = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(i4, -70000);
        Assert.Equal(-70000, ReadBytes(BuildNpy(Dict(">i4", "()"), i4)).AsInt32()[0]);

        var f2 = new byte[2]; BinaryPrimitives.WriteUInt16BigEndian(f2, Float16Bits.ToHalf(-2.5f));
        var h = ReadBytes(BuildNpy(Dict(">f2", "(1,)"), f2));
        Assert.Equal(DType.Float16, h.DType);
        Assert.Equal(-2.5f, h[0]);

        var i2 = new byte[4]; BinaryPrimitives.WriteInt16BigEndian(i2, -300); BinaryPrimitives.WriteInt16BigEndian(i2.AsSpan(2), 300);
        Assert.Equal(new[] { -300, 300 }, ReadBytes(BuildNpy(Dict(">i2", "(2,)"), i2)).AsInt32().ToArray());

        var u8 = new byte[8]; BinaryPrimitives.WriteUInt64BigEndian(u8, 123456789012);
        Assert.Equal(123456789012L, ReadBytes(BuildNpy(Dict(">u8", "(1,)"), u8)).AsInt64()[0]);
    }

    [Fact]
    public void Read_SmallIntegerTypesWidenToInt32()
    {
        Assert.Equal(new[] { -128, 127, -1 }, ReadBytes(BuildNpy(Dict("|i1", "(3,)"), [0x80, 0x7F, 0xFF])).AsInt32().ToArray());
        Assert.Equal(new[] { 128, 255, 0 }, ReadBytes(BuildNpy(Dict("|u1", "(3,)"), [0x80, 0xFF, 0])).AsInt32().ToArray());
        var i2 = new byte[4]; BinaryPrimitives.WriteInt16LittleEndian(i2, short.MinValue); BinaryPrimitives.WriteInt16LittleEndian(i2.AsSpan(2), 7);
        Assert.Equal(new[] { (int)short.MinValue, 7 }, ReadBytes(BuildNpy(Dict("<i2", "(2,)"), i2)).AsInt32().ToArray());
        var u4 = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(u4, uint.MaxValue);
        var t = ReadBytes(BuildNpy(Dict("<u4", "(1,)"), u4));
        Assert.Equal(DType.Int64, t.DType);
        Assert.Equal((long)uint.MaxValue, t.AsInt64()[0]);
    }

    [Fact]
    public void Read_U2IsIntegerByDefault_BFloat16OnRequest()
    {
        ushort bits = Float16Bits.ToBFloat16(3.25f);
        var data = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(data, bits);
        var file = BuildNpy(Dict("<u2", "(1,)"), data);
        var asInt = ReadBytes(file);
        Assert.Equal(DType.Int32, asInt.DType);
        Assert.Equal(bits, asInt.AsInt32()[0]);
        var asBf = Npy.Read(new MemoryStream(file), uint16AsBFloat16: true);
        Assert.Equal(DType.BFloat16, asBf.DType);
        Assert.Equal(3.25f, asBf[0]);
    }

    [Fact]
    public void Read_U8OutOfInt64Range_Rejected()
    {
        var data = new byte[16]; BinaryPrimitives.WriteUInt64LittleEndian(data, 1); BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), ulong.MaxValue);
        Rejects(BuildNpy(Dict("<u8", "(2,)"), data), "does not fit in int64");
    }

    [Fact]
    public void Read_BoolNonZeroBytesAreTrue()
    {
        var t = ReadBytes(BuildNpy(Dict("|b1", "(3,)"), [0, 1, 2]));
        Assert.Equal(new[] { false, true, true }, t.AsBool().ToArray());
    }

    [Fact]
    public void Read_V2AndV3Headers()
    {
        var v2 = ReadBytes(BuildNpy(Dict("<f4", "(2,)"), F32Bytes(1f, 2f), major: 2));
        Assert.Equal(new[] { 1f, 2f }, v2.AsFloat().ToArray());
        var v3 = ReadBytes(BuildNpy(Dict("<f4", "(1, 2)"), F32Bytes(5f, 6f), major: 3));
        Assert.Equal(new Shape(1, 2), v3.Shape);
        // v3.0 headers are UTF-8: invalid UTF-8 is rejected, whereas in v1.0 (latin-1) any byte decodes.
        var badUtf8 = BuildNpy(Dict("<f4", "(1,)"), F32Bytes(1f), major: 3);
        badUtf8[12 + Dict("<f4", "(1,)").Length + 1] = 0xFF; // inside the space padding
        Rejects(badUtf8, "UTF-8");
        Rejects(BuildNpy(Dict("<f4", "(1,)"), F32Bytes(1f), major: 4), "version 4.0");
    }

    [Fact]
    public void Read_HeaderVariantsNumPyAccepts()
    {
        // Key order is not fixed; Python-2 long suffixes; no trailing comma; double quotes; unpadded header.
        var data = F32Bytes(1, 2, 3, 4, 5, 6);
        Assert.Equal(new Shape(2, 3), ReadBytes(BuildNpy("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", data)).Shape);
        Assert.Equal(new Shape(2, 3), ReadBytes(BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", data)).Shape);
        Assert.Equal(new Shape(6), ReadBytes(BuildNpy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}", data, pad: false)).Shape);
        // Fortran order is harmless when at most one dimension exceeds 1.
        Assert.Equal(new Shape(6, 1), ReadBytes(BuildNpy(Dict("<f4", "(6, 1)", fortran: true), data)).Shape);
    }

    [Fact]
    public void Read_ScalarAndEmpty()
    {
        var s = ReadBytes(BuildNpy(Dict("<f4", "()"), F32Bytes(7f)));
        Assert.Equal(0, s.Rank);
        Assert.Equal(7f, s.AsFloat()[0]);
        var e = ReadBytes(BuildNpy(Dict("<i8", "(0, 5)"), []));
        Assert.Equal(new Shape(0, 5), e.Shape);
        Assert.Equal(0, e.Length);
    }

    [Fact]
    public void Reject_FortranOrder() =>
        Rejects(BuildNpy(Dict("<f4", "(2, 3)", fortran: true), F32Bytes(1, 2, 3, 4, 5, 6)), "fortran_order", "np.ascontiguousarray");

    [Fact]
    public void Reject_PickledObjects()
    {
        Rejects(BuildNpy(Dict("|O", "(2,)"), new byte[16]), "pickled object arrays are not supported");
        Rejects(BuildNpy(Dict("|O8", "(2,)"), new byte[16]), "pickled object arrays are not supported");
    }

    [Theory]
    [InlineData("<c16", "complex")]
    [InlineData("<U3", "string")]
    [InlineData("|S4", "string")]
    [InlineData("|V8", "structured")]
    [InlineData("<M8[ns]", "unsupported dtype")]
    [InlineData("<f16", "unsupported dtype")]
    [InlineData("<u16", "unsupported dtype")]
    [InlineData("<x4", "unsupported dtype")]
    [InlineData("", "descr")]
    public void Reject_UnknownDescr(string descr, string fragment) =>
        Rejects(BuildNpy(Dict(descr, "(1,)"), new byte[32]), fragment);

    [Fact]
    public void Reject_StructuredDescrList() =>
        Rejects(BuildNpy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", new byte[8]), "structured");

    [Fact]
    public void Reject_BadMagic()
    {
        var good = BuildNpy(Dict("<f4", "(1,)"), F32Bytes(1f));
        var bad = (byte[])good.Clone(); bad[1] = (byte)'X';
        Rejects(bad, "magic", "np.save");
        Rejects(Encoding.ASCII.GetBytes("hello, world, not numpy"), "magic");
        Rejects([], "truncated");
        Rejects(good[..3], "truncated");
    }

    [Fact]
    public void Reject_Truncated()
    {
        var good = BuildNpy(Dict("<f4", "(2, 2)"), F32Bytes(1, 2, 3, 4));
        Rejects(good[..7], "truncated");
        Rejects(good[..9], "truncated");
        Rejects(good[..40], "truncated .npy header");
        var e = Rejects(good[..^1], "truncated .npy data", "needs 16 bytes");
        Assert.Contains("15", e.Message);
        Rejects(good[..^16], "truncated .npy data");
        var f8 = BuildNpy(Dict("<f8", "(3,)"), new byte[20]);
        Rejects(f8, "truncated .npy data", "needs 24 bytes");
    }

    [Fact]
    public void Reject_DataShorterThanShapeNeeds_HugeShapeDoesNotAllocate()
    {
        Rejects(BuildNpy(Dict("<f4", "(1000000000,)"), F32Bytes(1f)), "needs 4000000000 bytes");
        Rejects(BuildNpy(Dict("<f4", "(2000000000, 2000000000, 2000000000)"), F32Bytes(1f)), "corrupt");
        Rejects(BuildNpy(Dict("<f4", "(4000000000,)"), F32Bytes(1f)), "2^31-1");
        Rejects(BuildNpy(Dict("<f4", "(-3,)"), F32Bytes(1f)), "negative");
    }

    [Fact]
    public void Reject_HugeHeader()
    {
        var b = new byte[12 + 16];
        b[0] = 0x93; Encoding.ASCII.GetBytes("NUMPY").CopyTo(b, 1); b[6] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 200_000);
        Rejects(b, "200000 bytes", "limit");
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False}", "lacks")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected key")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "fortran_order")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "not a tuple")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}", "not an integer")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "malformed")]
    [InlineData("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "malformed")]
    [InlineData("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "duplicate")]
    [InlineData("['descr', '<f4']", "not a Python dict")]
    [InlineData("{'descr': '<f4\r', 'fortran_order': False, 'shape': (1,)}", "'<f4\\x0d'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x\ry': 1}", "'x\\x0dy'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", "malformed")]
    [InlineData("{'descr': '<f4', 'fortran_order': Flase, 'shape': (1,)}", "malformed")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "malformed")]
    public void Reject_MalformedHeaders(string dict, string fragment) =>
        Rejects(BuildNpy(dict, F32Bytes(1f)), fragment);

    // --------------------------------------------------------- numpy goldens

    [Fact]
    public void Golden_NumPyFiles_ReadExactly()
    {
        var f32 = Npy.Read(IoTestUtil.Fixture("f32_2x4.npy"));
        Assert.Equal(new Shape(2, 4), f32.Shape);
        float[] expected = [0f, -0f, 1.5f, -2.25f, float.PositiveInfinity, float.NegativeInfinity, 1e-30f, 3.4028235e38f];
        Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), f32.AsFloat().ToArray().Select(BitConverter.SingleToUInt32Bits));

        Assert.True(float.IsNaN(Npy.Read(IoTestUtil.Fixture("f32_nan.npy")).AsFloat()[0]));

        var i64 = Npy.Read(IoTestUtil.Fixture("i64_5.npy"));
        Assert.Equal(new[] { 0L, -1L, 1L << 40, long.MinValue, long.MaxValue }, i64.AsInt64().ToArray());

        var b = Npy.Read(IoTestUtil.Fixture("bool_2x3.npy"));
        Assert.Equal(new Shape(2, 3), b.Shape);
        Assert.Equal(new[] { true, false, true, false, false, true }, b.AsBool().ToArray());

        var f8 = Npy.Read(IoTestUtil.Fixture("f8_be_4.npy"));
        Assert.Equal(DType.Float32, f8.DType);
        Assert.Equal(new[] { 0.5f, -1.25f, 3f, (float)0.1 }, f8.AsFloat().ToArray());
        Assert.Equal(1036831949u, BitConverter.SingleToUInt32Bits(f8.AsFloat()[3])); // numpy: np.float32(0.1).view(np.uint32)

        Assert.Equal(new[] { 1, -2, 70000 }, Npy.Read(IoTestUtil.Fixture("i4_be_3.npy")).AsInt32().ToArray());

        var f16 = Npy.Read(IoTestUtil.Fixture("f16_3.npy"));
        Assert.Equal(DType.Float16, f16.DType);
        Assert.Equal(new[] { 1f, -0.5f, 65504f }, f16.ToFloatArray());

        Assert.Equal(new[] { 0, 200, 255 }, Npy.Read(IoTestUtil.Fixture("u1_3.npy")).AsInt32().ToArray());

        var scalar = Npy.Read(IoTestUtil.Fixture("scalar_f32.npy"));
        Assert.Equal(Shape.Scalar, scalar.Shape);
        Assert.Equal(3.5f, scalar.AsFloat()[0]);

        var empty = Npy.Read(IoTestUtil.Fixture("empty_f32_0x3.npy"));
        Assert.Equal(new Shape(0, 3), empty.Shape);
    }

    [Fact]
    public void Golden_NumPyFortranAndPickle_Rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Npy.Read(IoTestUtil.Fixture("fortran_f32_2x3.npy")));
        Assert.Contains("fortran_f32_2x3.npy", e.Message);
        Assert.Contains("np.ascontiguousarray", e.Message);
        var p = Assert.Throws<InvalidDataException>(() => Npy.Read(IoTestUtil.Fixture("object.npy")));
        Assert.Contains("object.npy", p.Message);
        Assert.Contains("pickled object arrays are not supported", p.Message);
    }

    [Fact]
    public void Golden_ReWriteIsByteIdenticalToNumPy()
    {
        // Our writer produces exactly NumPy's bytes for the dtypes both sides share.
        foreach (var name in new[] { "f32_2x4.npy", "i64_5.npy", "bool_2x3.npy", "scalar_f32.npy", "empty_f32_0x3.npy", "f16_3.npy" })
        {
            var original = File.ReadAllBytes(IoTestUtil.Fixture(name));
            var ms = new MemoryStream();
            Npy.Write(ms, Npy.Read(IoTestUtil.Fixture(name)));
            Assert.True(original.AsSpan().SequenceEqual(ms.ToArray()), $"{name} differs from NumPy's bytes");
        }
    }

    // ---------------------------------------------------------- atomic write

    [Fact]
    public void AtomicWrite_ReplacesExistingFile_LeavesNoTemp()
    {
        string path = _dir.File("a.npy");
        File.WriteAllText(path, "old contents");
        Npy.Write(path, DenseTensor.FromArray(new[] { 1f }, 1));
        Assert.Equal(1f, Npy.Read(path).AsFloat()[0]);
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    [Fact]
    public void AtomicWrite_FailureLeavesNoTempFile()
    {
        // The destination is a directory: the final rename fails after the temp file was written.
        string path = _dir.File("dir.npy");
        Directory.CreateDirectory(path);
        Assert.ThrowsAny<IOException>(() => Npy.Write(path, DenseTensor.FromArray(new[] { 1f }, 1)));
        Assert.True(Directory.Exists(path));
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    // ------------------------------------------------------------------ fuzz

    public static TheoryData<string> FuzzSeeds() => new() { "f32", "f8be", "bool", "i64scalar", "u8", "v2" };

    [Theory]
    [MemberData(nameof(FuzzSeeds))]
    public void Fuzz_OnlyInvalidDataExceptionEscapes(string which)
    {
        byte[] valid = which switch
        {
            "f32" => Write(IoTestUtil.RandomTensor(DType.Float32, [3, 4], 1)),
            "bool" => Write(IoTestUtil.RandomTensor(DType.Bool, [7], 2)),
            "i64scalar" => Write(DenseTensor.Scalar(5L)),
            "f8be" => BuildNpy(Dict(">f8", "(2, 2)"), new byte[32]),
            "u8" => BuildNpy(Dict("<u8", "(3,)"), new byte[24]),
            "v2" => BuildNpy(Dict("<i2", "(2, 3)"), new byte[12], major: 2),
            _ => throw new ArgumentException(which),
        };
        int seed = which.Length * 7919 + which[0];
        IoTestUtil.Fuzz(valid, seed, m => Npy.Read(new MemoryStream(m)));
        IoTestUtil.Fuzz(valid, seed + 1, m => Npy.Read(new NonSeekableStream(new MemoryStream(m))));
    }

    private static byte[] Write(DenseTensor t) { var ms = new MemoryStream(); Npy.Write(ms, t); return ms.ToArray(); }
}
