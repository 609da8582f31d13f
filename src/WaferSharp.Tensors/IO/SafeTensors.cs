using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;

namespace WaferSharp.Tensors.IO;

/// <summary>The contents of a safetensors file.</summary>
public sealed class SafeTensorsFile
{
    /// <summary>Creates a file model from already-decoded parts.</summary>
    public SafeTensorsFile(IReadOnlyDictionary<string, DenseTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors ?? throw new ArgumentNullException(nameof(tensors));
        Metadata = metadata ?? throw new ArgumentNullException(nameof(metadata));
    }

    /// <summary>Tensors by name, in ordinal name order.</summary>
    public IReadOnlyDictionary<string, DenseTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> string map (empty when the file has none), in header order.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}

/// <summary>
/// Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format:
/// an 8-byte little-endian header length <c>N</c>, <c>N</c> bytes of UTF-8 JSON, then a little-endian
/// row-major byte buffer that the tensors' <c>data_offsets</c> tile exactly.
/// </summary>
/// <remarks>
/// <para>Written dtypes: <c>F32</c>, <c>BF16</c>, <c>F16</c>, <c>I64</c>, <c>I32</c>, <c>BOOL</c> (bit-exact, bf16/f16 kept as 16-bit).</para>
/// <para>Read dtypes: those six, plus <c>F64</c> → f32 (rounded), <c>I8</c>/<c>I16</c>/<c>U8</c>/<c>U16</c> → i32,
/// <c>U32</c> → i64 and <c>U64</c> → i64 (only when every value fits). Other dtypes (complex, 8/6/4-bit floats) are rejected.</para>
/// <para>Every problem with the file contents surfaces as an <see cref="InvalidDataException"/> whose one-line
/// message names the file, the problem and the fix.</para>
/// </remarks>
public static class SafeTensors
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>
    /// Writes <paramref name="tensors"/> (and optional string metadata) to <paramref name="path"/> atomically
    /// (temp file in the same directory, flushed, then renamed over <paramref name="path"/>; on failure the
    /// temp file is deleted and an existing file is untouched). As the reference writer does, the header is
    /// space-padded to a multiple of 8 bytes and data is laid out by descending dtype size, then ordinal name.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty, repeated, or equals <c>__metadata__</c>.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, DenseTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<(string Name, DenseTensor T)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("safetensors tensor names must be non-empty", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
            ArgumentNullException.ThrowIfNull(t, $"tensors[{name}]");
            list.Add((name, t));
        }
        list.Sort((a, b) =>
        {
            int c = b.T.DType.Size().CompareTo(a.T.DType.Size());
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        var header = BuildHeader(list, metadata);
        AtomicFile.Write(path, fs =>
        {
            Span<byte> n = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(n, (ulong)header.Length);
            fs.Write(n);
            fs.Write(header);
            foreach (var (_, t) in list) Npy.WriteRaw(fs, t, bf16AsFloat32: false);
        });
    }

    private static byte[] BuildHeader(List<(string Name, DenseTensor T)> list, IReadOnlyDictionary<string, string>? metadata)
    {
        var buf = new MemoryStream();
        using (var w = new Utf8JsonWriter(buf, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata)
                {
                    ArgumentNullException.ThrowIfNull(v, $"metadata[{k}]");
                    w.WriteString(k, v);
                }
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in list)
            {
                long size = checked(t.Shape.Numel * t.DType.Size());
                w.WriteStartObject(name);
                w.WriteString("dtype", DTypeString(t.DType));
                w.WriteStartArray("shape");
                foreach (var d in t.Shape.Dims) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + size);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += size;
            }
            w.WriteEndObject();
        }
        int len = (int)buf.Length;
        int padded = (len + 7) / 8 * 8;
        for (int i = len; i < padded; i++) buf.WriteByte((byte)' ');
        return buf.ToArray();
    }

    private static string DTypeString(DType d) => d switch
    {
        DType.Float32 => "F32", DType.BFloat16 => "BF16", DType.Float16 => "F16",
        DType.Int64 => "I64", DType.Int32 => "I32", DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    /// <summary>Reads a safetensors file, validating it fully before trusting any offset.</summary>
    /// <exception cref="InvalidDataException">The file is malformed or uses an unsupported dtype.</exception>
    public static SafeTensorsFile Read(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLen = RandomAccess.GetLength(handle);
        if (fileLen < 8)
            throw Fail(path, $"file is {fileLen} bytes, too short for the 8-byte header length; the file was cut short, re-save it");
        Span<byte> nb = stackalloc byte[8];
        ReadExactlyAt(handle, nb, 0, path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(nb);
        if (n > MaxHeaderBytes)
            throw Fail(path, $"header length {n} exceeds the {MaxHeaderBytes}-byte limit; the file is corrupt or not safetensors");
        if (n > (ulong)(fileLen - 8))
            throw Fail(path, $"header length {n} runs past the end of the {fileLen}-byte file; the file was cut short or is not safetensors");
        var header = new byte[(int)n];
        ReadExactlyAt(handle, header, 8, path);
        long bufStart = 8 + (long)n;
        long bufLen = fileLen - bufStart;

        var (entries, metadata) = ParseHeader(header, path);

        // Offsets must tile [0, bufLen) exactly: no gaps, no overlaps, nothing past the end.
        var byOffset = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long cursor = 0;
        foreach (var e in byOffset)
        {
            if (e.Begin != cursor)
                throw Fail(path, e.Begin < cursor
                    ? $"tensor '{Clip(e.Name)}' data [{e.Begin}, {e.End}) overlaps the previous tensor (which ends at {cursor}); the file is corrupt"
                    : $"gap in data buffer: bytes [{cursor}, {e.Begin}) before tensor '{Clip(e.Name)}' belong to no tensor; the file is corrupt");
            cursor = e.End;
        }
        if (cursor != bufLen)
            throw Fail(path, cursor > bufLen
                ? $"tensor data ends at byte {cursor} of the buffer but the buffer holds only {bufLen} bytes; the file was cut short"
                : $"data buffer has {bufLen - cursor} trailing bytes after the last tensor (at {cursor}); the file is corrupt");

        var tensors = new SortedDictionary<string, DenseTensor>(StringComparer.Ordinal);
        foreach (var e in entries) tensors.Add(e.Name, Load(handle, bufStart, e, path));
        return new SafeTensorsFile(new ReadOnlyDictionary<string, DenseTensor>(tensors), new ReadOnlyDictionary<string, string>(metadata));
    }

    /// <summary>Lower-case hex SHA-256 of the file at <paramref name="path"/> (streamed, any size).</summary>
    public static string Sha256(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    // -------------------------------------------------------------------- parse

    private sealed record Entry(string Name, string DTypeName, int ItemSize, DType Target, Shape Shape, long Begin, long End);

    private static InvalidDataException Fail(string path, string message) => Npy.Fail(path, message);

    private static string Clip(string s) => Npy.Printable(s, 60);

    private static (List<Entry>, OrderedDictionary<string, string>) ParseHeader(byte[] header, string path)
    {
        if (!Utf8.IsValid(header))
            throw Fail(path, "safetensors header is not valid UTF-8; the file is corrupt");
        if (header.Length == 0 || header[0] != (byte)'{')
            throw Fail(path, "safetensors header does not start with '{'; the file is corrupt or not safetensors");

        var entries = new List<Entry>();
        var metadata = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var r = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 8 });
            Next(ref r, path);
            if (r.TokenType != JsonTokenType.StartObject) throw Fail(path, "safetensors header is not a JSON object");
            while (true)
            {
                Next(ref r, path);
                if (r.TokenType == JsonTokenType.EndObject) break;
                string name = r.GetString()!;
                if (!names.Add(name))
                    throw Fail(path, $"safetensors header names '{Clip(name)}' twice; duplicate keys are invalid, re-save the file");
                Next(ref r, path);
                if (name == MetadataKey) ReadMetadata(ref r, metadata, path);
                else entries.Add(ReadEntry(ref r, name, path));
            }
            if (r.Read())
                throw Fail(path, "safetensors header has content after the closing '}'; the file is corrupt");
        }
        catch (JsonException e)
        {
            throw Fail(path, $"safetensors header is not valid JSON ({e.Message.ReplaceLineEndings(" ")}); the file is corrupt");
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString throws this for escapes that do not form valid UTF-16 (lone surrogates).
            throw Fail(path, $"safetensors header has an invalid JSON string ({e.Message.ReplaceLineEndings(" ")}); the file is corrupt");
        }
        return (entries, metadata);
    }

    private static void Next(ref Utf8JsonReader r, string path)
    {
        if (!r.Read()) throw Fail(path, "safetensors header JSON ends early; the file is corrupt");
    }

    private static void ReadMetadata(ref Utf8JsonReader r, OrderedDictionary<string, string> metadata, string path)
    {
        if (r.TokenType == JsonTokenType.Null) return;
        if (r.TokenType != JsonTokenType.StartObject)
            throw Fail(path, $"'{MetadataKey}' must be an object of strings; the file is corrupt");
        while (true)
        {
            Next(ref r, path);
            if (r.TokenType == JsonTokenType.EndObject) return;
            string key = r.GetString()!;
            Next(ref r, path);
            if (r.TokenType != JsonTokenType.String)
                throw Fail(path, $"'{MetadataKey}' value for '{Clip(key)}' is not a string; safetensors metadata is string→string only");
            if (!metadata.TryAdd(key, r.GetString()!))
                throw Fail(path, $"'{MetadataKey}' has key '{Clip(key)}' twice; duplicate keys are invalid, re-save the file");
        }
    }

    private static Entry ReadEntry(ref Utf8JsonReader r, string name, string path)
    {
        if (r.TokenType != JsonTokenType.StartObject)
            throw Fail(path, $"header entry '{Clip(name)}' is not an object with dtype/shape/data_offsets; the file is corrupt");
        string? dtype = null;
        List<long>? shape = null, offsets = null;
        while (true)
        {
            Next(ref r, path);
            if (r.TokenType == JsonTokenType.EndObject) break;
            string field = r.GetString()!;
            Next(ref r, path);
            switch (field)
            {
                case "dtype":
                    if (dtype != null) throw Fail(path, $"tensor '{Clip(name)}' has 'dtype' twice; the file is corrupt");
                    if (r.TokenType != JsonTokenType.String) throw Fail(path, $"tensor '{Clip(name)}' dtype is not a string; the file is corrupt");
                    dtype = r.GetString()!;
                    break;
                case "shape":
                    if (shape != null) throw Fail(path, $"tensor '{Clip(name)}' has 'shape' twice; the file is corrupt");
                    shape = ReadIntArray(ref r, name, field, path);
                    break;
                case "data_offsets":
                    if (offsets != null) throw Fail(path, $"tensor '{Clip(name)}' has 'data_offsets' twice; the file is corrupt");
                    offsets = ReadIntArray(ref r, name, field, path);
                    break;
                default:
                    r.Skip(); // unknown fields are ignored, as the reference reader does
                    break;
            }
        }
        if (dtype is null || shape is null || offsets is null)
            throw Fail(path, $"tensor '{Clip(name)}' lacks {(dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets")}; the file is corrupt");
        if (offsets.Count != 2)
            throw Fail(path, $"tensor '{Clip(name)}' data_offsets has {offsets.Count} numbers, expected [begin, end]; the file is corrupt");
        long begin = offsets[0], end = offsets[1];
        if (end < begin)
            throw Fail(path, $"tensor '{Clip(name)}' data_offsets [{begin}, {end}) ends before it begins; the file is corrupt");

        var (itemSize, target) = dtype switch
        {
            "F32" => (4, DType.Float32), "BF16" => (2, DType.BFloat16), "F16" => (2, DType.Float16),
            "I64" => (8, DType.Int64), "I32" => (4, DType.Int32), "BOOL" => (1, DType.Bool),
            "F64" => (8, DType.Float32),
            "I8" => (1, DType.Int32), "U8" => (1, DType.Int32), "I16" => (2, DType.Int32), "U16" => (2, DType.Int32),
            "U32" => (4, DType.Int64), "U64" => (8, DType.Int64),
            _ => throw Fail(path, $"tensor '{Clip(name)}' has unsupported dtype '{Clip(dtype)}'; convert it to F32, BF16, F16, I64, I32 or BOOL before saving"),
        };
        var dims = new int[shape.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            if (shape[i] > int.MaxValue)
                throw Fail(path, $"tensor '{Clip(name)}' dimension {i} is {shape[i]}, larger than WaferSharp supports (2^31-1)");
            dims[i] = (int)shape[i];
        }
        var sh = new Shape(dims);
        long nbytes;
        try { nbytes = checked(sh.Numel * itemSize); }
        catch (OverflowException) { throw Fail(path, $"tensor '{Clip(name)}' shape {sh} overflows a 64-bit byte count; the file is corrupt"); }
        if (nbytes != end - begin)
            throw Fail(path, $"tensor '{Clip(name)}' is {dtype}{sh} = {nbytes} bytes but data_offsets [{begin}, {end}) span {end - begin}; the file is corrupt");
        if (sh.Numel > Array.MaxLength)
            throw Fail(path, $"tensor '{Clip(name)}' has {sh.Numel} elements, more than .NET can hold in one array; split it before saving");
        return new Entry(name, dtype, itemSize, target, sh, begin, end);
    }

    private static List<long> ReadIntArray(ref Utf8JsonReader r, string name, string field, string path)
    {
        if (r.TokenType != JsonTokenType.StartArray)
            throw Fail(path, $"tensor '{Clip(name)}' {field} is not an array of integers; the file is corrupt");
        var list = new List<long>();
        while (true)
        {
            Next(ref r, path);
            if (r.TokenType == JsonTokenType.EndArray) return list;
            if (r.TokenType != JsonTokenType.Number || !r.TryGetInt64(out long v) || v < 0)
                throw Fail(path, $"tensor '{Clip(name)}' {field} holds something other than a non-negative 64-bit integer; the file is corrupt");
            list.Add(v);
        }
    }

    // --------------------------------------------------------------------- data

    private static DenseTensor Load(SafeFileHandle h, long bufStart, Entry e, string path)
    {
        var t = DenseTensor.Zeros(e.Shape, e.Target);
        long numel = e.Shape.Numel;
        long offset = bufStart + e.Begin;
        if (e.Target.Size() == e.ItemSize && e.DTypeName is not ("BOOL" or "U64"))
        {
            // Same layout: read straight into the storage array.
            ref byte start = ref MemoryMarshal.GetArrayDataReference(t.Storage);
            long nbytes = e.End - e.Begin;
            for (long done = 0; done < nbytes;)
            {
                int len = (int)Math.Min(nbytes - done, 1 << 30);
                ReadExactlyAt(h, MemoryMarshal.CreateSpan(ref Unsafe.AddByteOffset(ref start, (nint)done), len), offset + done, path);
                done += len;
            }
            if (!BitConverter.IsLittleEndian) SwapToNative(t.Storage);
            return t;
        }

        int chunk = (1 << 20) / e.ItemSize;
        var buf = new byte[(int)Math.Min(numel, chunk) * e.ItemSize];
        for (long i = 0; i < numel; i += chunk)
        {
            int n = (int)Math.Min(chunk, numel - i);
            var b = buf.AsSpan(0, n * e.ItemSize);
            ReadExactlyAt(h, b, offset + i * e.ItemSize, path);
            int o = (int)i;
            switch (e.DTypeName)
            {
                case "BOOL": { var d = t.AsBool().Slice(o, n); for (int j = 0; j < n; j++) d[j] = b[j] != 0; break; }
                case "F64": { var d = t.AsFloat().Slice(o, n); for (int j = 0; j < n; j++) d[j] = (float)BinaryPrimitives.ReadDoubleLittleEndian(b[(j * 8)..]); break; }
                case "I8": { var d = t.AsInt32().Slice(o, n); for (int j = 0; j < n; j++) d[j] = (sbyte)b[j]; break; }
                case "U8": { var d = t.AsInt32().Slice(o, n); for (int j = 0; j < n; j++) d[j] = b[j]; break; }
                case "I16": { var d = t.AsInt32().Slice(o, n); for (int j = 0; j < n; j++) d[j] = BinaryPrimitives.ReadInt16LittleEndian(b[(j * 2)..]); break; }
                case "U16": { var d = t.AsInt32().Slice(o, n); for (int j = 0; j < n; j++) d[j] = BinaryPrimitives.ReadUInt16LittleEndian(b[(j * 2)..]); break; }
                case "U32": { var d = t.AsInt64().Slice(o, n); for (int j = 0; j < n; j++) d[j] = BinaryPrimitives.ReadUInt32LittleEndian(b[(j * 4)..]); break; }
                case "U64":
                {
                    var d = t.AsInt64().Slice(o, n);
                    for (int j = 0; j < n; j++)
                    {
                        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(b[(j * 8)..]);
                        if (v > long.MaxValue)
                            throw Fail(path, $"tensor '{Clip(e.Name)}' U64 element {o + j} is {v}, which does not fit in int64; convert it to I64 before saving");
                        d[j] = (long)v;
                    }
                    break;
                }
                default: throw new InvalidOperationException($"internal: no converter for {e.DTypeName}");
            }
        }
        return t;
    }

    private static void SwapToNative(Array arr)
    {
        switch (arr)
        {
            case float[] f: { var u = MemoryMarshal.Cast<float, uint>(f.AsSpan()); BinaryPrimitives.ReverseEndianness(u, u); break; }
            case ushort[] s: BinaryPrimitives.ReverseEndianness(s, s); break;
            case long[] l: BinaryPrimitives.ReverseEndianness(l, l); break;
            case int[] i: BinaryPrimitives.ReverseEndianness(i, i); break;
        }
    }

    private static void ReadExactlyAt(SafeFileHandle h, Span<byte> dst, long offset, string path)
    {
        int total = 0;
        while (total < dst.Length)
        {
            int n = RandomAccess.Read(h, dst[total..], offset + total);
            if (n <= 0) throw Fail(path, $"file ends at byte {offset + total} but {dst.Length - total} more bytes were expected; the file was cut short");
            total += n;
        }
    }
}
