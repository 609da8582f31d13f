using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace WaferSharp.Tensors.IO;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format versions 1.0, 2.0 and 3.0).
/// </summary>
/// <remarks>
/// <para><b>Reading.</b> Supported <c>descr</c> values, in either byte order (<c>&lt;</c>, <c>&gt;</c>, <c>=</c>, <c>|</c>):
/// <c>f4</c> → f32, <c>f8</c> → f32 (rounded to nearest), <c>f2</c> → f16, <c>i8</c> → i64, <c>i4</c> → i32,
/// <c>i2</c>/<c>i1</c>/<c>u1</c>/<c>u2</c> → i32, <c>u4</c> → i64, <c>u8</c> → i64 (only when every value fits),
/// <c>b1</c> → bool (any non-zero byte is true). <c>u2</c> is read as integers, not bfloat16, unless the caller
/// passes <c>uint16AsBFloat16: true</c>. Shape <c>()</c> is a scalar. Fortran-ordered arrays of rank ≥ 2, object
/// (pickled) arrays, complex, string and structured dtypes are rejected.</para>
/// <para><b>Writing.</b> Always little-endian, C order, version 1.0 (2.0 only when the header exceeds 65,535 bytes).
/// NumPy has no bfloat16, so <b>bf16 tensors are written as float32</b> (<c>&lt;f4</c>); the conversion is exact,
/// and reading the file back yields an f32 tensor.</para>
/// <para>Every problem with the file contents surfaces as an <see cref="InvalidDataException"/> whose one-line
/// message names the file, the problem, and how to fix it.</para>
/// </remarks>
public static class Npy
{
    /// <summary>Largest header accepted when reading (NumPy itself refuses more than 10,000 bytes by default).</summary>
    public const int MaxHeaderBytes = 100 * 1024;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Arrays larger than this are not pre-allocated from a non-seekable stream until their bytes arrive.</summary>
    private const long DirectAllocLimit = 64L << 20;

    /// <summary>Reads one array from <paramref name="stream"/>, leaving the stream positioned just after its data.</summary>
    /// <param name="stream">Source positioned at the magic string. Need not be seekable.</param>
    /// <param name="uint16AsBFloat16">Interpret <c>u2</c> arrays as bfloat16 bit patterns instead of integers.</param>
    /// <exception cref="InvalidDataException">The bytes are not a supported, well-formed .npy array.</exception>
    public static DenseTensor Read(Stream stream, bool uint16AsBFloat16 = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadCore(stream, stream is FileStream fs ? fs.Name : "npy stream", uint16AsBFloat16);
    }

    /// <summary>Reads a <c>.npy</c> file. Trailing bytes after the array data are ignored, as NumPy does.</summary>
    /// <param name="path">File path.</param>
    /// <param name="uint16AsBFloat16">Interpret <c>u2</c> arrays as bfloat16 bit patterns instead of integers.</param>
    /// <exception cref="InvalidDataException">The file is not a supported, well-formed .npy array.</exception>
    public static DenseTensor Read(string path, bool uint16AsBFloat16 = false)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return ReadCore(fs, path, uint16AsBFloat16);
    }

    /// <summary>Writes <paramref name="tensor"/> as a .npy array (v1.0, little-endian, C order; bf16 becomes <c>&lt;f4</c>).</summary>
    public static void Write(Stream stream, DenseTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensor);
        WriteHeader(stream, tensor);
        WriteData(stream, tensor);
    }

    /// <summary>
    /// Writes <paramref name="tensor"/> to <paramref name="path"/> atomically: the bytes go to a temporary file in the
    /// same directory which then replaces <paramref name="path"/>; on failure the temporary file is deleted and any
    /// existing file is left untouched.
    /// </summary>
    public static void Write(string path, DenseTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        AtomicFile.Write(path, s => Write(s, tensor));
    }

    // ------------------------------------------------------------------ reading

    internal static InvalidDataException Fail(string source, string message)
    {
        var e = new InvalidDataException($"{source}: {message}");
        e.Data[AtomicFile.FormatErrorKey] = true;
        return e;
    }

    internal static DenseTensor ReadCore(Stream s, string source, bool uint16AsBFloat16)
    {
        Span<byte> pre = stackalloc byte[12];
        int got = ReadUpTo(s, pre[..8]);
        if (got < 6 && pre[..got].SequenceEqual(Magic[..got]))
            throw Fail(source, $"truncated .npy file ({got} bytes); the file was cut short, re-save it with np.save");
        if (got < 6 || !pre[..6].SequenceEqual(Magic))
            throw Fail(source, "not a .npy file (missing \\x93NUMPY magic); check the path or re-save it with np.save");
        if (got < 8)
            throw Fail(source, "truncated .npy header (file ends inside the version bytes); re-save it with np.save");
        byte major = pre[6], minor = pre[7];
        if (minor != 0 || major is < 1 or > 3)
            throw Fail(source, $"unsupported .npy format version {major}.{minor}; only 1.0, 2.0 and 3.0 are supported, re-save it with np.save");
        int lenBytes = major == 1 ? 2 : 4;
        if (ReadUpTo(s, pre.Slice(8, lenBytes)) < lenBytes)
            throw Fail(source, "truncated .npy header (file ends inside the header length); re-save it with np.save");
        uint headerLen = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(pre[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(pre[8..]);
        if (headerLen > MaxHeaderBytes)
            throw Fail(source, $".npy header is {headerLen} bytes, more than the {MaxHeaderBytes}-byte limit; the file is corrupt or not a plain array, re-save it with np.save");
        var header = new byte[headerLen];
        if (ReadUpTo(s, header) < header.Length)
            throw Fail(source, $"truncated .npy header (expected {headerLen} header bytes); the file was cut short, re-save it with np.save");

        string text;
        try
        {
            text = major == 3 ? new UTF8Encoding(false, true).GetString(header) : Encoding.Latin1.GetString(header);
        }
        catch (DecoderFallbackException)
        {
            throw Fail(source, "the v3.0 .npy header is not valid UTF-8; re-save it with np.save");
        }

        var (descr, fortran, dims) = ParseHeader(text, source);
        var shape = new Shape(dims);
        long numel;
        try { numel = shape.Numel; }
        catch (OverflowException) { throw Fail(source, $"shape {shape} has too many elements; the header is corrupt"); }
        if (fortran && dims.Count(d => d != 1) > 1)
            throw Fail(source, $"array of shape {shape} is stored in Fortran order (fortran_order: True), which is not supported; re-save with np.ascontiguousarray(a)");

        var kind = ParseDescr(descr, source, uint16AsBFloat16);
        long nbytes;
        try { nbytes = checked(numel * kind.ItemSize); }
        catch (OverflowException) { throw Fail(source, $"shape {shape} of '{descr}' needs more bytes than a file can hold; the header is corrupt"); }
        if (numel > Array.MaxLength)
            throw Fail(source, $"array of shape {shape} has {numel} elements, more than .NET can hold in one array; split it before saving");

        if (s.CanSeek)
        {
            long remaining = s.Length - s.Position;
            if (remaining < nbytes)
                throw Fail(source, $"truncated .npy data: shape {shape} of '{descr}' needs {nbytes} bytes but only {Math.Max(remaining, 0)} remain; the file was cut short, re-save it with np.save");
        }
        else if (nbytes > DirectAllocLimit)
        {
            // Do not trust a header we cannot check against the stream length: buffer the bytes first.
            var buf = ReadGrowing(s, nbytes, source, shape, descr);
            using var ms = new MemoryStream(buf, writable: false);
            return Decode(ms, source, kind, shape, (int)numel, nbytes, descr);
        }
        return Decode(s, source, kind, shape, (int)numel, nbytes, descr);
    }

    private static byte[] ReadGrowing(Stream s, long nbytes, string source, Shape shape, string descr)
    {
        if (nbytes > Array.MaxLength)
            throw Fail(source, $"array of shape {shape} ({nbytes} bytes) is too large to read from a non-seekable stream; read it from a file instead");
        var buf = new byte[DirectAllocLimit];
        long have = 0;
        while (have < nbytes)
        {
            if (have == buf.Length) Array.Resize(ref buf, (int)Math.Min(nbytes, (long)buf.Length * 2));
            int n = s.Read(buf, (int)have, (int)Math.Min(buf.Length - have, nbytes - have));
            if (n == 0) throw Truncated(source, shape, descr, nbytes, have);
            have += n;
        }
        return buf;
    }

    private static InvalidDataException Truncated(string source, Shape shape, string descr, long need, long have) =>
        Fail(source, $"truncated .npy data: shape {shape} of '{descr}' needs {need} bytes but only {have} are present; the file was cut short, re-save it with np.save");

    private readonly record struct Kind(char Code, int ItemSize, bool BigEndian, DType Target);

    private static Kind ParseDescr(string rawDescr, string source, bool u2AsBf16)
    {
        string descr = Clip(rawDescr); // for messages only
        if (rawDescr.Length == 0) throw Fail(source, "empty 'descr' in .npy header; re-save it with np.save");
        char order = rawDescr[0];
        string rest = rawDescr;
        bool big = !BitConverter.IsLittleEndian;
        if (order is '<' or '>' or '|' or '=')
        {
            rest = rawDescr[1..];
            if (order == '<') big = false;
            else if (order == '>') big = true;
        }
        if (rest.StartsWith('O'))
            throw Fail(source, $"dtype '{descr}' is a pickled object array; pickled object arrays are not supported, save a numeric array instead");
        if (rest == "?") rest = "b1";
        if (rest.Length < 2 || !int.TryParse(rest.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int size))
            throw Fail(source, $"unknown or unsupported dtype '{descr}'; supported are f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1 — convert with a.astype(np.float32) before saving");
        char code = rest[0];
        DType? target = (code, size) switch
        {
            ('f', 4) => DType.Float32,
            ('f', 8) => DType.Float32,
            ('f', 2) => DType.Float16,
            ('i', 8) => DType.Int64,
            ('i', 4) => DType.Int32,
            ('i', 2) or ('i', 1) or ('u', 1) => DType.Int32,
            ('u', 2) => u2AsBf16 ? DType.BFloat16 : DType.Int32,
            ('u', 4) or ('u', 8) => DType.Int64,
            ('b', 1) => DType.Bool,
            _ => null,
        };
        if (target is null)
        {
            string what = code switch
            {
                'c' => "complex arrays are not supported; save the real and imaginary parts separately",
                'S' or 'U' or 'a' => "string arrays are not supported; save numeric arrays only",
                'V' => "structured/void arrays are not supported; save each field as its own array",
                'M' or 'm' => "datetime arrays are not supported; convert with a.astype(np.int64) before saving",
                _ => "supported are f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1; convert with a.astype(np.float32) before saving",
            };
            throw Fail(source, $"unsupported dtype '{descr}': {what}");
        }
        return new Kind(code, size, big && size > 1, target.Value);
    }

    private static DenseTensor Decode(Stream s, string source, Kind k, Shape shape, int numel, long nbytes, string descr)
    {
        var t = DenseTensor.Zeros(shape, k.Target);
        Array storage = t.Storage;
        bool sameLayout = k.Target.Size() == k.ItemSize && k.Code != 'b' && !(k.Code == 'u' && k.ItemSize == 8) && !(k.Code == 'u' && k.ItemSize == 4);
        if (sameLayout)
        {
            // f4, f2, i8, i4, u2-as-bf16: bytes go straight into the storage array.
            long have = ReadIntoArray(s, storage, nbytes);
            if (have < nbytes) throw Truncated(source, shape, descr, nbytes, have);
            if (k.BigEndian) SwapInPlace(storage, k.ItemSize);
            return t;
        }

        // Converting dtypes: stream through a chunk buffer.
        int chunkElems = Math.Max(1, (1 << 20) / k.ItemSize);
        var buf = new byte[(long)Math.Min(numel, chunkElems) * k.ItemSize];
        long done = 0;
        while (done < numel)
        {
            int n = (int)Math.Min(numel - done, chunkElems);
            var span = buf.AsSpan(0, n * k.ItemSize);
            int read = ReadUpTo(s, span);
            if (read < span.Length) throw Truncated(source, shape, descr, nbytes, done * k.ItemSize + read);
            ConvertChunk(span, k, storage, (int)done, n, source, descr);
            done += n;
        }
        return t;
    }

    private static void ConvertChunk(ReadOnlySpan<byte> b, Kind k, Array storage, int offset, int n, string source, string descr)
    {
        bool be = k.BigEndian;
        switch (k.Code, k.ItemSize)
        {
            case ('f', 8):
            {
                var dst = ((float[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++)
                {
                    long bits = be ? BinaryPrimitives.ReadInt64BigEndian(b[(i * 8)..]) : BinaryPrimitives.ReadInt64LittleEndian(b[(i * 8)..]);
                    dst[i] = (float)BitConverter.Int64BitsToDouble(bits);
                }
                break;
            }
            case ('i', 2):
            {
                var dst = ((int[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++)
                    dst[i] = be ? BinaryPrimitives.ReadInt16BigEndian(b[(i * 2)..]) : BinaryPrimitives.ReadInt16LittleEndian(b[(i * 2)..]);
                break;
            }
            case ('u', 2):
            {
                var dst = ((int[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++)
                    dst[i] = be ? BinaryPrimitives.ReadUInt16BigEndian(b[(i * 2)..]) : BinaryPrimitives.ReadUInt16LittleEndian(b[(i * 2)..]);
                break;
            }
            case ('i', 1):
            {
                var dst = ((int[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++) dst[i] = (sbyte)b[i];
                break;
            }
            case ('u', 1):
            {
                var dst = ((int[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++) dst[i] = b[i];
                break;
            }
            case ('u', 4):
            {
                var dst = ((long[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++)
                    dst[i] = be ? BinaryPrimitives.ReadUInt32BigEndian(b[(i * 4)..]) : BinaryPrimitives.ReadUInt32LittleEndian(b[(i * 4)..]);
                break;
            }
            case ('u', 8):
            {
                var dst = ((long[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++)
                {
                    ulong v = be ? BinaryPrimitives.ReadUInt64BigEndian(b[(i * 8)..]) : BinaryPrimitives.ReadUInt64LittleEndian(b[(i * 8)..]);
                    if (v > long.MaxValue)
                        throw Fail(source, $"'{descr}' element {offset + i} is {v}, which does not fit in int64; convert with a.astype(np.int64) or np.float64 before saving");
                    dst[i] = (long)v;
                }
                break;
            }
            case ('b', 1):
            {
                var dst = ((bool[])storage).AsSpan(offset, n);
                for (int i = 0; i < n; i++) dst[i] = b[i] != 0;
                break;
            }
            default:
                throw new InvalidOperationException($"internal: no converter for {k}");
        }
    }

    /// <summary>Reads up to <paramref name="nbytes"/> raw bytes into the array's memory; returns how many arrived.</summary>
    private static long ReadIntoArray(Stream s, Array arr, long nbytes)
    {
        ref byte start = ref MemoryMarshal.GetArrayDataReference(arr);
        long done = 0;
        while (done < nbytes)
        {
            int len = (int)Math.Min(nbytes - done, 1 << 30);
            var span = MemoryMarshal.CreateSpan(ref Unsafe.AddByteOffset(ref start, (nint)done), len);
            int got = ReadUpTo(s, span);
            done += got;
            if (got < len) break;
        }
        return done;
    }

    private static void SwapInPlace(Array arr, int itemSize)
    {
        switch (arr)
        {
            case float[] f: { var u = MemoryMarshal.Cast<float, uint>(f.AsSpan()); BinaryPrimitives.ReverseEndianness(u, u); break; }
            case ushort[] h: BinaryPrimitives.ReverseEndianness(h, h); break;
            case long[] l: BinaryPrimitives.ReverseEndianness(l, l); break;
            case int[] i: BinaryPrimitives.ReverseEndianness(i, i); break;
            default: throw new InvalidOperationException($"internal: cannot byte-swap {arr.GetType().Name} ({itemSize} bytes)");
        }
    }

    /// <summary>Reads until <paramref name="dst"/> is full or the stream ends; returns bytes read.</summary>
    internal static int ReadUpTo(Stream s, Span<byte> dst)
    {
        int total = 0;
        while (total < dst.Length)
        {
            int n = s.Read(dst[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }

    // -------------------------------------------------------------- header parse

    private static (string Descr, bool Fortran, int[] Dims) ParseHeader(string text, string source)
    {
        object? parsed;
        try
        {
            var p = new PyLiteralParser(text);
            parsed = p.ParseValue(0);
            p.ExpectEnd();
        }
        catch (FormatException e)
        {
            throw Fail(source, $"malformed .npy header ({e.Message}); re-save it with np.save");
        }
        if (parsed is not Dictionary<string, object?> d)
            throw Fail(source, "the .npy header is not a Python dict literal; re-save it with np.save");

        foreach (var key in d.Keys)
            if (key is not ("descr" or "fortran_order" or "shape"))
                throw Fail(source, $"unexpected key '{Clip(key)}' in .npy header (expected descr, fortran_order, shape); re-save it with np.save");
        if (!d.TryGetValue("descr", out var descrObj) || !d.TryGetValue("fortran_order", out var fortObj) || !d.TryGetValue("shape", out var shapeObj))
            throw Fail(source, "the .npy header lacks one of descr, fortran_order, shape; re-save it with np.save");

        string descr = descrObj switch
        {
            string str => str,
            List<object?> => throw Fail(source, "structured dtypes (descr is a list of fields) are not supported; save each field as its own array"),
            _ => throw Fail(source, "'descr' in the .npy header is not a string; re-save it with np.save"),
        };
        if (fortObj is not bool fortran)
            throw Fail(source, "'fortran_order' in the .npy header is not True/False; re-save it with np.save");
        if (shapeObj is not PyTuple tuple)
            throw Fail(source, "'shape' in the .npy header is not a tuple; re-save it with np.save");
        var dims = new int[tuple.Items.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            if (tuple.Items[i] is not long v)
                throw Fail(source, $"'shape' entry {i} in the .npy header is not an integer; re-save it with np.save");
            if (v < 0)
                throw Fail(source, $"'shape' entry {i} in the .npy header is negative ({v}); the file is corrupt");
            if (v > int.MaxValue)
                throw Fail(source, $"dimension {i} is {v}, larger than WaferSharp supports (2^31-1); reshape before saving");
            dims[i] = (int)v;
        }
        return (descr, fortran, dims);
    }

    private static string Clip(string s) => Printable(s, 40);

    /// <summary>Shortens <paramref name="s"/> and escapes control characters so that it can be quoted in a one-line message.</summary>
    internal static string Printable(string s, int max)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > max ? s[..max] : s)
        {
            if (char.IsControl(c)) sb.Append(@"\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        if (s.Length > max) sb.Append('…');
        return sb.ToString();
    }

    private sealed class PyTuple(List<object?> items) { public List<object?> Items { get; } = items; }

    /// <summary>Parses the tiny subset of Python literals found in .npy headers (dict, tuple, list, str, int, bool, None).</summary>
    private sealed class PyLiteralParser(string text)
    {
        private int _pos;
        private const int MaxDepth = 32;

        private void SkipWs() { while (_pos < text.Length && text[_pos] is ' ' or '\t' or '\n' or '\r' or '\f' or '\v') _pos++; }

        private char Peek() { SkipWs(); return _pos < text.Length ? text[_pos] : '\0'; }

        private FormatException Err(string what) => new($"{what} at character {_pos}");

        public void ExpectEnd()
        {
            SkipWs();
            if (_pos != text.Length) throw Err("unexpected text after the dict");
        }

        public object? ParseValue(int depth)
        {
            if (depth > MaxDepth) throw Err("nesting too deep");
            char c = Peek();
            switch (c)
            {
                case '{':
                {
                    _pos++;
                    var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                    while (true)
                    {
                        if (Peek() == '}') { _pos++; return d; }
                        if (ParseValue(depth + 1) is not string key) throw Err("dict key is not a string");
                        if (Peek() != ':') throw Err("expected ':'");
                        _pos++;
                        var v = ParseValue(depth + 1);
                        if (!d.TryAdd(key, v)) throw Err($"duplicate key '{Clip(key)}'");
                        char sep = Peek();
                        if (sep == ',') { _pos++; continue; }
                        if (sep == '}') { _pos++; return d; }
                        throw Err("expected ',' or '}'");
                    }
                }
                case '(':
                case '[':
                {
                    char close = c == '(' ? ')' : ']';
                    _pos++;
                    var items = new List<object?>();
                    bool sawComma = false;
                    while (true)
                    {
                        if (Peek() == close) { _pos++; break; }
                        items.Add(ParseValue(depth + 1));
                        char sep = Peek();
                        if (sep == ',') { _pos++; sawComma = true; continue; }
                        if (sep == close) { _pos++; break; }
                        throw Err($"expected ',' or '{close}'");
                    }
                    if (c == '[') return items;
                    // "(3)" is just a parenthesised int in Python, not a tuple.
                    if (items.Count == 1 && !sawComma) return items[0];
                    return new PyTuple(items);
                }
                case '\'':
                case '"':
                {
                    _pos++;
                    var sb = new StringBuilder();
                    while (true)
                    {
                        if (_pos >= text.Length) throw Err("unterminated string");
                        char ch = text[_pos++];
                        if (ch == c) return sb.ToString();
                        if (ch == '\\')
                        {
                            if (_pos >= text.Length) throw Err("unterminated string");
                            ch = text[_pos++];
                        }
                        else if (ch == '\n') throw Err("newline inside string");
                        sb.Append(ch);
                    }
                }
                default:
                {
                    int start = _pos;
                    if (c is '-' or '+') _pos++;
                    if (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
                    {
                        while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] == '_')) _pos++;
                        var digits = text.AsSpan(start, _pos - start).ToString().Replace("_", "");
                        if (_pos < text.Length && text[_pos] is 'L' or 'l') _pos++; // Python 2 long suffix
                        if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
                            throw Err("integer out of range");
                        return v;
                    }
                    _pos = start;
                    while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] == '_')) _pos++;
                    var word = text[start.._pos];
                    return word switch
                    {
                        "True" => true,
                        "False" => false,
                        "None" => null,
                        "" => throw Err("unexpected character"),
                        _ => throw Err($"unexpected name '{Clip(word)}'"),
                    };
                }
            }
        }
    }

    // ------------------------------------------------------------------ writing

    /// <summary>The descr string this writer uses for <paramref name="dtype"/>.</summary>
    private static string DescrFor(DType dtype) => dtype switch
    {
        DType.Float32 or DType.BFloat16 => "<f4",
        DType.Float16 => "<f2",
        DType.Int64 => "<i8",
        DType.Int32 => "<i4",
        DType.Bool => "|b1",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private static void WriteHeader(Stream s, DenseTensor t)
    {
        var dims = t.Shape.Dims;
        var sb = new StringBuilder();
        sb.Append("{'descr': '").Append(DescrFor(t.DType)).Append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(dims[i].ToString(CultureInfo.InvariantCulture));
        }
        if (dims.Length == 1) sb.Append(',');
        sb.Append("), }");

        // Pad with spaces and a final '\n' so that the whole preamble is a multiple of 64 bytes.
        int major = 1;
        int pre = 10;
        int total = Align64(pre + sb.Length + 1);
        if (total - pre > ushort.MaxValue)
        {
            major = 2;
            pre = 12;
            total = Align64(pre + sb.Length + 1);
        }
        sb.Append(' ', total - pre - sb.Length - 1).Append('\n');
        var header = Encoding.ASCII.GetBytes(sb.ToString());

        Span<byte> p = stackalloc byte[12];
        Magic.CopyTo(p);
        p[6] = (byte)major;
        p[7] = 0;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(p[8..], (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(p[8..], (uint)header.Length);
        s.Write(p[..pre]);
        s.Write(header);
    }

    private static int Align64(int n) => (n + 63) / 64 * 64;

    internal static void WriteData(Stream s, DenseTensor t) => WriteRaw(s, t, bf16AsFloat32: true);

    /// <summary>Writes the tensor's elements little-endian; bool as 0/1 bytes; bf16 optionally widened to float32.</summary>
    internal static void WriteRaw(Stream s, DenseTensor t, bool bf16AsFloat32)
    {
        const int Chunk = 1 << 16;
        switch (t.Storage)
        {
            case ushort[] u when t.DType == DType.BFloat16 && bf16AsFloat32:
            {
                var buf = new float[Math.Min(u.Length, Chunk)];
                for (int i = 0; i < u.Length; i += Chunk)
                {
                    int n = Math.Min(Chunk, u.Length - i);
                    for (int j = 0; j < n; j++) buf[j] = Float16Bits.FromBFloat16(u[i + j]);
                    WriteLittleEndian<float>(s, buf.AsSpan(0, n));
                }
                break;
            }
            case bool[] b:
            {
                var buf = new byte[Math.Min(b.Length, Chunk)];
                for (int i = 0; i < b.Length; i += Chunk)
                {
                    int n = Math.Min(Chunk, b.Length - i);
                    for (int j = 0; j < n; j++) buf[j] = b[i + j] ? (byte)1 : (byte)0;
                    s.Write(buf, 0, n);
                }
                break;
            }
            case float[] f: WriteLittleEndian<float>(s, f); break;
            case ushort[] h: WriteLittleEndian<ushort>(s, h); break;
            case long[] l: WriteLittleEndian<long>(s, l); break;
            case int[] i: WriteLittleEndian<int>(s, i); break;
            default: throw new ArgumentException($"unsupported storage {t.Storage.GetType().Name}");
        }
    }

    private static void WriteLittleEndian<T>(Stream s, ReadOnlySpan<T> data) where T : unmanaged
    {
        if (BitConverter.IsLittleEndian)
        {
            // Chunk to keep every span under 2 GiB of bytes.
            int per = (1 << 30) / Unsafe.SizeOf<T>();
            for (int i = 0; i < data.Length; i += per)
                s.Write(MemoryMarshal.AsBytes(data.Slice(i, Math.Min(per, data.Length - i))));
            return;
        }
        var tmp = new byte[Math.Min(data.Length, 1 << 14) * Unsafe.SizeOf<T>()];
        for (int i = 0; i < data.Length; i += 1 << 14)
        {
            var part = MemoryMarshal.AsBytes(data.Slice(i, Math.Min(1 << 14, data.Length - i)));
            part.CopyTo(tmp);
            int size = Unsafe.SizeOf<T>();
            for (int j = 0; j < part.Length; j += size) tmp.AsSpan(j, size).Reverse();
            s.Write(tmp, 0, part.Length);
        }
    }
}
