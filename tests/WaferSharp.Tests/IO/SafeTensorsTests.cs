using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.IO;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>Writes a hand-built safetensors file: 8-byte length, the header as given (no padding), then data.</summary>
    private string Build(string header, byte[] data, string name = "h.safetensors")
    {
        var hb = Encoding.UTF8.GetBytes(header);
        var b = new byte[8 + hb.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)hb.Length);
        hb.CopyTo(b, 8);
        data.CopyTo(b, 8 + hb.Length);
        string path = _dir.File(name);
        File.WriteAllBytes(path, b);
        return path;
    }

    private InvalidDataException Rejects(string header, byte[] data, params string[] fragments)
    {
        string path = Build(header, data);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.Contains(path, e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    private static (ulong N, JsonDocument Header) ReadHeader(string path)
    {
        var b = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(b);
        return (n, JsonDocument.Parse(b.AsMemory(8, (int)n)));
    }

    // ------------------------------------------------------------ round trip

    [Fact]
    public void RoundTrip_EveryDTypeAndShape_WithMetadata()
    {
        var tensors = new List<KeyValuePair<string, DenseTensor>>();
        int seed = 100;
        foreach (var dt in IoTestUtil.AllDTypes)
            for (int s = 0; s < IoTestUtil.Shapes.Length; s++)
                tensors.Add(new($"{dt.ShortName()}.s{s}", IoTestUtil.RandomTensor(dt, IoTestUtil.Shapes[s], seed++)));
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["step"] = "12", ["note"] = "ünïcødé ✓" };
        string path = _dir.File("all.safetensors");
        SafeTensors.Write(path, tensors, meta);
        IoTestUtil.AssertNoTempFiles(_dir.Path);

        var f = SafeTensors.Read(path);
        Assert.Equal(tensors.Select(kv => kv.Key).Order(StringComparer.Ordinal), f.Tensors.Keys);
        foreach (var (name, t) in tensors) IoTestUtil.AssertBitEqual(t, f.Tensors[name]); // bf16/f16 stay 16-bit
        Assert.Equal(meta.OrderBy(kv => kv.Key), f.Metadata.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void Write_HeaderPaddedTo8_UsesUtf8ByteLengths_AndAlignmentOrder()
    {
        string path = _dir.File("layout.safetensors");
        SafeTensors.Write(path, [
            new("b_i32", DenseTensor.FromArray(new[] { 1, 2, 3 }, 3)),
            new("ä_bool", DenseTensor.FromArray(new[] { true }, 1)),
            new("z_i64", DenseTensor.FromArray(new long[] { 5 }, 1)),
            new("a_f16", DenseTensor.Zeros(new Shape(2), DType.Float16)),
            new("a_i64", DenseTensor.FromArray(new long[] { 6, 7 }, 2)),
            new("c_f32", DenseTensor.Scalar(2.5f)),
            new("日本_bf16", DenseTensor.Zeros(new Shape(1, 1), DType.BFloat16)),
        ]);
        var (n, doc) = ReadHeader(path);
        Assert.Equal(0UL, n % 8);
        var raw = File.ReadAllBytes(path);
        Assert.Equal((byte)'{', raw[8]);
        // Trailing padding is spaces.
        string headerText = Encoding.UTF8.GetString(raw, 8, (int)n);
        Assert.Equal(headerText.TrimEnd(' ').Length + (headerText.Length - headerText.TrimEnd(' ').Length), headerText.Length);
        Assert.EndsWith("}", headerText.TrimEnd(' '));
        Assert.Contains("日本_bf16", headerText); // raw UTF-8, not \u escapes

        // Data order: by descending dtype size, then ordinal name.
        var order = doc.RootElement.EnumerateObject()
            .Select(p => (p.Name, Begin: p.Value.GetProperty("data_offsets")[0].GetInt64()))
            .OrderBy(p => p.Begin).Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "a_i64", "z_i64", "b_i32", "c_f32", "a_f16", "日本_bf16", "ä_bool" }, order);
        Assert.Equal("I64", doc.RootElement.GetProperty("a_i64").GetProperty("dtype").GetString());
        Assert.Equal("BF16", doc.RootElement.GetProperty("日本_bf16").GetProperty("dtype").GetString());
        Assert.Equal("BOOL", doc.RootElement.GetProperty("ä_bool").GetProperty("dtype").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("c_f32").GetProperty("shape").GetArrayLength());
        Assert.Equal(8 + (long)n + 16 + 8 + 12 + 4 + 4 + 2 + 1, raw.LongLength);

        var back = SafeTensors.Read(path);
        Assert.Equal(2.5f, back.Tensors["c_f32"].AsFloat()[0]);
        Assert.Equal(new long[] { 6, 7 }, back.Tensors["a_i64"].AsInt64().ToArray());
        Assert.Empty(back.Metadata);
    }

    [Fact]
    public void Write_NoTensors()
    {
        string path = _dir.File("empty.safetensors");
        SafeTensors.Write(path, [], new Dictionary<string, string> { ["k"] = "v" });
        var f = SafeTensors.Read(path);
        Assert.Empty(f.Tensors);
        Assert.Equal("v", f.Metadata["k"]);
    }

    [Fact]
    public void Write_RejectsBadNames()
    {
        var t = DenseTensor.Scalar(1f);
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(_dir.File("x"), [new("a", t), new("a", t)]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(_dir.File("x"), [new("__metadata__", t)]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(_dir.File("x"), [new("", t)]));
        Assert.False(File.Exists(_dir.File("x")));
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    // ----------------------------------------------------------- hand-built

    [Fact]
    public void Read_HandBuilt_ConvertsF64AndSmallInts()
    {
        var data = new byte[16 + 2 + 4];
        BinaryPrimitives.WriteDoubleLittleEndian(data, 0.1);
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8), -4.5);
        data[16] = 0xFF; data[17] = 0x80; // I8: -1, -128
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(18), 4_000_000_000);
        string path = Build("{" + Entry("d", "F64", "[2]", 0, 16) + "," + Entry("i", "I8", "[2]", 16, 18) + "," + Entry("u", "U32", "[]", 18, 22) + "}", data);
        var f = SafeTensors.Read(path);
        Assert.Equal(DType.Float32, f.Tensors["d"].DType);
        Assert.Equal(new[] { (float)0.1, -4.5f }, f.Tensors["d"].AsFloat().ToArray());
        Assert.Equal(new[] { -1, -128 }, f.Tensors["i"].AsInt32().ToArray());
        Assert.Equal(4_000_000_000L, f.Tensors["u"].AsInt64()[0]);
    }

    [Fact]
    public void Read_EmptyTensorsAnywhere_AndUnknownFieldsIgnored_AndNullMetadata()
    {
        string h = "{\"__metadata__\":null," + Entry("e0", "F32", "[0,3]", 0, 0) + "," + Entry("x", "I32", "[1]", 0, 4)
                 + "," + Entry("e1", "BF16", "[2,0]", 4, 4) + ",\"y\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[4,6],\"extra\":{\"a\":[1,2]}}}    ";
        var f = SafeTensors.Read(Build(h, [7, 0, 0, 0, 1, 0]));
        Assert.Equal(new[] { "e0", "e1", "x", "y" }, f.Tensors.Keys);
        Assert.Equal(7, f.Tensors["x"].AsInt32()[0]);
        Assert.Equal(new[] { true, false }, f.Tensors["y"].AsBool().ToArray());
        Assert.Equal(new Shape(2, 0), f.Tensors["e1"].Shape);
        Assert.Empty(f.Metadata);
    }

    [Fact]
    public void Reject_Overlap() =>
        Rejects("{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("b", "F32", "[2]", 4, 12) + "}", new byte[12], "overlaps");

    [Fact]
    public void Reject_SameRangeTwice() =>
        Rejects("{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("b", "I32", "[2]", 0, 8) + "}", new byte[8], "overlaps");

    [Fact]
    public void Reject_Gap() =>
        Rejects("{" + Entry("a", "F32", "[1]", 0, 4) + "," + Entry("b", "F32", "[1]", 8, 12) + "}", new byte[12], "gap");

    [Fact]
    public void Reject_GapAtStart() =>
        Rejects("{" + Entry("a", "F32", "[1]", 4, 8) + "}", new byte[8], "gap");

    [Fact]
    public void Reject_TrailingBytes() =>
        Rejects("{" + Entry("a", "F32", "[1]", 0, 4) + "}", new byte[6], "trailing");

    [Fact]
    public void Reject_DataPastEnd() =>
        Rejects("{" + Entry("a", "F32", "[4]", 0, 16) + "}", new byte[12], "cut short");

    [Fact]
    public void Reject_DuplicateTensorKey() =>
        Rejects("{" + Entry("a", "F32", "[1]", 0, 4) + "," + Entry("a", "F32", "[1]", 4, 8) + "}", new byte[8], "twice", "duplicate");

    [Fact]
    public void Reject_DuplicateMetadataKey() =>
        Rejects("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", [], "twice");

    [Fact]
    public void Reject_DuplicateMetadataSection() =>
        Rejects("{\"__metadata__\":{},\"__metadata__\":{}}", [], "twice");

    [Fact]
    public void Reject_DuplicateFieldInEntry() =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4], "twice");

    [Fact]
    public void Reject_NonStringMetadata() =>
        Rejects("{\"__metadata__\":{\"k\":1}}", [], "not a string");

    [Fact]
    public void Reject_SizeMismatch() =>
        Rejects("{" + Entry("a", "F32", "[3]", 0, 8) + "}", new byte[8], "12 bytes", "span 8");

    [Fact]
    public void Reject_ShapeOverflow() =>
        Rejects("{" + Entry("a", "F64", "[2147483647,2147483647,2147483647,8]", 0, 8) + "}", new byte[8], "overflows");

    [Fact]
    public void Reject_ReversedOffsets() =>
        Rejects("{" + Entry("a", "F32", "[0]", 8, 4) + "}", new byte[8], "ends before it begins");

    [Theory]
    [InlineData("[1]", "[0,4,8]", "expected [begin, end]")]
    [InlineData("[-1]", "[0,4]", "non-negative")]
    [InlineData("[1.5]", "[0,4]", "non-negative")]
    [InlineData("[1]", "[0,\"4\"]", "non-negative")]
    [InlineData("7", "[0,4]", "not an array")]
    [InlineData("[3000000000]", "[0,4]", "2^31-1")]
    public void Reject_BadShapeOrOffsets(string shape, string offsets, string fragment) =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}", new byte[4], fragment);

    [Theory]
    [InlineData("C64")]
    [InlineData("F8_E4M3")]
    [InlineData("f32")]
    [InlineData("")]
    public void Reject_UnsupportedDType(string dtype) =>
        Rejects("{" + Entry("a", dtype, "[1]", 0, 8) + "}", new byte[8], "unsupported dtype", "F32");

    [Theory]
    [InlineData("[]", "does not start with '{'")]
    [InlineData(" {}", "does not start with '{'")]
    [InlineData("{\"a\":", "JSON")]
    [InlineData("{} {}", "JSON")]
    [InlineData("{\"a\":1}", "not an object")]
    [InlineData("{\"a\":{\"dtype\":\"F32\"}}", "lacks shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", "lacks data_offsets")]
    [InlineData("{\"a\\ud800\":{}}", "invalid JSON string")]
    [InlineData("{\"a\":{\"x\":[[[[[[[[[[[[1]]]]]]]]]]]}}", "JSON")]
    [InlineData("{/*c*/}", "JSON")]
    [InlineData("{\"a\\nb\":1}", "'a\\x0ab' is not an object")]
    public void Reject_MalformedHeader(string header, string fragment) => Rejects(header, [], fragment);

    [Fact]
    public void Reject_InvalidUtf8Header()
    {
        string path = Build("{\"a\":{}}", []);
        var b = File.ReadAllBytes(path);
        b[10] = 0xC3; b[11] = 0x28; // invalid 2-byte sequence inside the key
        File.WriteAllBytes(path, b);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.Contains("UTF-8", e.Message);
    }

    [Fact]
    public void Reject_HeaderLengthProblems()
    {
        string shortFile = _dir.File("short.safetensors");
        File.WriteAllBytes(shortFile, [1, 2, 3]);
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(shortFile)).Message);

        string pastEnd = _dir.File("past.safetensors");
        var b = new byte[8 + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(b, 100);
        File.WriteAllBytes(pastEnd, b);
        Assert.Contains("past the end", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(pastEnd)).Message);

        string huge = _dir.File("huge.safetensors");
        BinaryPrimitives.WriteUInt64LittleEndian(b, 100_000_001);
        File.WriteAllBytes(huge, b);
        Assert.Contains("limit", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(huge)).Message);

        BinaryPrimitives.WriteUInt64LittleEndian(b, ulong.MaxValue);
        File.WriteAllBytes(huge, b);
        Assert.Contains("limit", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(huge)).Message);
    }

    [Fact]
    public void Reject_TruncatedWrittenFile()
    {
        string path = _dir.File("t.safetensors");
        SafeTensors.Write(path, [new("w", IoTestUtil.RandomTensor(DType.Float32, [8], 1))]);
        var b = File.ReadAllBytes(path);
        File.WriteAllBytes(path, b[..^3]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.Contains("cut short", e.Message);
    }

    // ------------------------------------------------------------------- misc

    [Fact]
    public void Sha256_IsLowerHex()
    {
        string path = _dir.File("abc.txt");
        File.WriteAllBytes(path, "abc"u8.ToArray());
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", SafeTensors.Sha256(path));
    }

    [Fact]
    public void Write_IsDeterministic()
    {
        var t = new KeyValuePair<string, DenseTensor>[] { new("a", IoTestUtil.RandomTensor(DType.BFloat16, [3, 3], 9)), new("b", DenseTensor.Scalar(4L)) };
        SafeTensors.Write(_dir.File("1.safetensors"), t);
        SafeTensors.Write(_dir.File("2.safetensors"), t.Reverse());
        Assert.Equal(SafeTensors.Sha256(_dir.File("1.safetensors")), SafeTensors.Sha256(_dir.File("2.safetensors")));
    }

    // ----------------------------------------------------------------- atomic

    [Fact]
    public void AtomicWrite_ThrowingSource_DoesNotReplaceExisting()
    {
        string path = _dir.File("m.safetensors");
        SafeTensors.Write(path, [new("a", DenseTensor.Scalar(1f))]);
        string before = SafeTensors.Sha256(path);
        static IEnumerable<KeyValuePair<string, DenseTensor>> Broken()
        {
            yield return new("b", DenseTensor.Scalar(2f));
            throw new InvalidOperationException("source failed");
        }
        Assert.Throws<InvalidOperationException>(() => SafeTensors.Write(path, Broken()));
        Assert.Equal(before, SafeTensors.Sha256(path));
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    [Fact]
    public void AtomicWrite_RenameFailure_LeavesNoTemp()
    {
        string path = _dir.File("isdir.safetensors");
        Directory.CreateDirectory(path);
        Assert.ThrowsAny<IOException>(() => SafeTensors.Write(path, [new("a", DenseTensor.Scalar(1f))]));
        Assert.True(Directory.Exists(path));
        IoTestUtil.AssertNoTempFiles(_dir.Path);
    }

    // ------------------------------------------------------------------- fuzz

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Fuzz_OnlyInvalidDataExceptionEscapes(int variant)
    {
        string src = _dir.File("src.safetensors");
        if (variant == 1)
            SafeTensors.Write(src, [
                new("w", IoTestUtil.RandomTensor(DType.Float32, [3, 2], 1)),
                new("h", IoTestUtil.RandomTensor(DType.BFloat16, [4], 2)),
                new("ids", IoTestUtil.RandomTensor(DType.Int64, [], 3)),
                new("m", IoTestUtil.RandomTensor(DType.Bool, [0, 2], 4)),
            ], new Dictionary<string, string> { ["format"] = "pt" });
        else
            SafeTensors.Write(src, [new("x", IoTestUtil.RandomTensor(DType.Int32, [2, 2], 5))]);
        var valid = File.ReadAllBytes(src);
        string path = _dir.File("fuzz.safetensors");
        IoTestUtil.Fuzz(valid, 300 + variant, m =>
        {
            File.WriteAllBytes(path, m);
            SafeTensors.Read(path);
        });
    }
}
