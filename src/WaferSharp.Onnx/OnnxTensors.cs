using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using WaferSharp.Onnx.Proto;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>
/// Converts ONNX <c>TensorProto</c>s to and from <see cref="DenseTensor"/>: data from <c>raw_data</c>
/// (little-endian), from the typed fields, or from an external data file. Every problem with the bytes is an
/// <see cref="InvalidDataException"/> naming the tensor.
/// </summary>
public static class OnnxTensors
{
    /// <summary>Largest element count accepted for one tensor (the CPU tensor is one array).</summary>
    public const long MaxElements = int.MaxValue / 8;

    /// <summary>ONNX <c>TensorProto.DataType</c> codes used here.</summary>
    public static class Code
    {
#pragma warning disable CS1591
        public const int Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
            Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, BFloat16 = 16;
#pragma warning restore CS1591
    }

    /// <summary>The dtype an ONNX element type is held in here (doubles become float32, small integers int32).</summary>
    /// <exception cref="NotSupportedException">Strings, complex, 8-bit and 4-bit floats, unknown codes.</exception>
    public static DType ToDType(int code, string what) => code switch
    {
        Code.Float or Code.Double => DType.Float32,
        Code.Float16 => DType.Float16,
        Code.BFloat16 => DType.BFloat16,
        Code.Int64 or Code.UInt32 or Code.UInt64 => DType.Int64,
        Code.Int32 or Code.Int16 or Code.Int8 or Code.UInt16 or Code.UInt8 => DType.Int32,
        Code.Bool => DType.Bool,
        _ => throw new NotSupportedException($"{what} has ONNX element type {Name(code)}, which WaferSharp does not support (use float32, float16, bfloat16, int64, int32 or bool)"),
    };

    /// <summary>The ONNX code for a dtype.</summary>
    public static int FromDType(DType d) => d switch
    {
        DType.Float32 => Code.Float, DType.Float16 => Code.Float16, DType.BFloat16 => Code.BFloat16,
        DType.Int64 => Code.Int64, DType.Int32 => Code.Int32, DType.Bool => Code.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    /// <summary>ONNX's name of an element type code.</summary>
    public static string Name(int code) => code switch
    {
        1 => "FLOAT", 2 => "UINT8", 3 => "INT8", 4 => "UINT16", 5 => "INT16", 6 => "INT32", 7 => "INT64", 8 => "STRING",
        9 => "BOOL", 10 => "FLOAT16", 11 => "DOUBLE", 12 => "UINT32", 13 => "UINT64", 14 => "COMPLEX64", 15 => "COMPLEX128",
        16 => "BFLOAT16", 17 => "FLOAT8E4M3FN", 18 => "FLOAT8E4M3FNUZ", 19 => "FLOAT8E5M2", 20 => "FLOAT8E5M2FNUZ",
        21 => "UINT4", 22 => "INT4", 23 => "FLOAT4E2M1", _ => $"code {code}",
    };

    private static int RawSize(int code) => code switch
    {
        Code.Float or Code.Int32 or Code.UInt32 => 4,
        Code.Double or Code.Int64 or Code.UInt64 => 8,
        Code.Float16 or Code.BFloat16 or Code.Int16 or Code.UInt16 => 2,
        Code.Int8 or Code.UInt8 or Code.Bool => 1,
        _ => 0,
    };

    /// <summary>Checks dims and returns the shape.</summary>
    public static Shape ShapeOf(TensorProto t, string what)
    {
        var d = new int[t.Dims.Count];
        long n = 1;
        for (int i = 0; i < d.Length; i++)
        {
            long v = t.Dims[i];
            if (v < 0 || v > int.MaxValue) throw new InvalidDataException($"{what} has invalid dimension {v}");
            d[i] = (int)v;
            n *= v;
            if (n > MaxElements) throw new InvalidDataException($"{what} is too large ({string.Join("x", t.Dims)} elements)");
        }
        return new Shape(d);
    }

    /// <summary>
    /// Decodes a tensor. <paramref name="baseDir"/> resolves external data locations (relative to the model file).
    /// </summary>
    public static DenseTensor Read(TensorProto t, string what, string? baseDir)
    {
        var shape = ShapeOf(t, what);
        int code = t.DataType;
        var dtype = ToDType(code, what);
        int n = checked((int)shape.Numel);
        var o = DenseTensor.Zeros(shape, dtype);
        ReadOnlySpan<byte> raw;
        byte[]? external = null;
        if (t.DataLocation == 1)
        {
            external = ReadExternal(t, what, baseDir, (long)n * RawSize(code));
            raw = external;
        }
        else if (t.DataLocation != 0) throw new InvalidDataException($"{what} has unknown data_location {t.DataLocation}");
        else raw = t.RawData.Span;
        if (external is not null || raw.Length > 0)
        {
            long need = (long)n * RawSize(code);
            if (raw.Length != need) throw new InvalidDataException($"{what}: raw data has {raw.Length} bytes, {Name(code)}{shape} needs {need}");
            DecodeRaw(raw, code, o);
            return o;
        }
        // typed fields
        int count = code switch
        {
            Code.Float => t.FloatData.Count,
            Code.Double => t.DoubleData.Count,
            Code.Int64 => t.Int64Data.Count,
            Code.UInt32 or Code.UInt64 => t.Uint64Data.Count,
            _ => t.Int32Data.Count,
        };
        if (count != n) throw new InvalidDataException($"{what}: has {count} values for shape {shape} ({n} elements)");
        switch (code)
        {
            case Code.Float: t.FloatData.CopyTo((float[])o.Storage, 0); break;
            case Code.Double: { var d = o.AsFloat(); for (int i = 0; i < n; i++) d[i] = (float)t.DoubleData[i]; break; }
            case Code.Int64: t.Int64Data.CopyTo((long[])o.Storage, 0); break;
            case Code.UInt32 or Code.UInt64: { var d = o.AsInt64(); for (int i = 0; i < n; i++) d[i] = unchecked((long)t.Uint64Data[i]); break; }
            case Code.Float16 or Code.BFloat16: { var d = o.AsUInt16(); for (int i = 0; i < n; i++) d[i] = unchecked((ushort)t.Int32Data[i]); break; }
            case Code.Bool: { var d = o.AsBool(); for (int i = 0; i < n; i++) d[i] = t.Int32Data[i] != 0; break; }
            default: t.Int32Data.CopyTo((int[])o.Storage, 0); break;
        }
        return o;
    }

    private static void DecodeRaw(ReadOnlySpan<byte> raw, int code, DenseTensor o)
    {
        int n = o.Length;
        switch (code)
        {
            case Code.Float: MemoryMarshal.Cast<byte, float>(raw).CopyTo(o.AsFloat()); break; // little-endian hosts only
            case Code.Double: { var d = o.AsFloat(); for (int i = 0; i < n; i++) d[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]); break; }
            case Code.Int64: MemoryMarshal.Cast<byte, long>(raw).CopyTo(o.AsInt64()); break;
            case Code.UInt64: { var d = o.AsInt64(); for (int i = 0; i < n; i++) d[i] = unchecked((long)BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..])); break; }
            case Code.UInt32: { var d = o.AsInt64(); for (int i = 0; i < n; i++) d[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]); break; }
            case Code.Int32: MemoryMarshal.Cast<byte, int>(raw).CopyTo(o.AsInt32()); break;
            case Code.Int16: { var d = o.AsInt32(); for (int i = 0; i < n; i++) d[i] = BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]); break; }
            case Code.UInt16: { var d = o.AsInt32(); for (int i = 0; i < n; i++) d[i] = BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]); break; }
            case Code.Int8: { var d = o.AsInt32(); for (int i = 0; i < n; i++) d[i] = (sbyte)raw[i]; break; }
            case Code.UInt8: { var d = o.AsInt32(); for (int i = 0; i < n; i++) d[i] = raw[i]; break; }
            case Code.Float16 or Code.BFloat16: MemoryMarshal.Cast<byte, ushort>(raw).CopyTo(o.AsUInt16()); break;
            case Code.Bool: { var d = o.AsBool(); for (int i = 0; i < n; i++) d[i] = raw[i] != 0; break; }
        }
    }

    private static byte[] ReadExternal(TensorProto t, string what, string? baseDir, long need)
    {
        string? location = null; long offset = 0; long length = -1;
        foreach (var kv in t.ExternalData)
        {
            switch (kv.Key)
            {
                case "location": location = kv.Value; break;
                case "offset":
                    if (!long.TryParse(kv.Value, out offset) || offset < 0) throw new InvalidDataException($"{what}: external data offset '{kv.Value}' is not a non-negative integer");
                    break;
                case "length":
                    if (!long.TryParse(kv.Value, out length) || length < 0) throw new InvalidDataException($"{what}: external data length '{kv.Value}' is not a non-negative integer");
                    break;
            }
        }
        if (string.IsNullOrEmpty(location)) throw new InvalidDataException($"{what}: external data has no 'location'");
        if (Path.IsPathRooted(location)) throw new InvalidDataException($"{what}: external data location '{location}' must be relative to the model file");
        string path = Path.Combine(baseDir ?? ".", location);
        if (!File.Exists(path)) throw new InvalidDataException($"{what}: external data file '{path}' is missing; keep it next to the model file");
        if (length >= 0 && length != need) throw new InvalidDataException($"{what}: external data length {length} does not match the {need} bytes its type needs");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (offset + need > fs.Length) throw new InvalidDataException($"{what}: external data file '{path}' is too short ({fs.Length} bytes, need {offset + need})");
        fs.Position = offset;
        var buf = new byte[need];
        fs.ReadExactly(buf);
        return buf;
    }

    /// <summary>Moves external data into <c>raw_data</c> (so a copy of the model can live in another folder).</summary>
    public static void Inline(TensorProto t, string what, string? baseDir)
    {
        if (t.DataLocation != 1) return;
        var shape = ShapeOf(t, what);
        var raw = ReadExternal(t, what, baseDir, shape.Numel * RawSize(t.DataType));
        t.ExternalData.Clear();
        t.DataLocation = 0;
        t.RawData = ByteString.CopyFrom(raw);
    }

    /// <summary>Encodes a tensor as <c>raw_data</c> (little-endian), in place of whatever data it held.</summary>
    public static void Write(DenseTensor data, TensorProto t)
    {
        t.Dims.Clear();
        foreach (var d in data.Shape.Dims) t.Dims.Add(d);
        t.DataType = FromDType(data.DType);
        t.FloatData.Clear(); t.Int32Data.Clear(); t.Int64Data.Clear(); t.DoubleData.Clear(); t.Uint64Data.Clear(); t.StringData.Clear();
        t.ExternalData.Clear();
        t.DataLocation = 0;
        byte[] bytes = data.Storage switch
        {
            float[] f => MemoryMarshal.AsBytes(f.AsSpan()).ToArray(),
            long[] l => MemoryMarshal.AsBytes(l.AsSpan()).ToArray(),
            int[] i => MemoryMarshal.AsBytes(i.AsSpan()).ToArray(),
            ushort[] u => MemoryMarshal.AsBytes(u.AsSpan()).ToArray(),
            bool[] b => b.Select(x => x ? (byte)1 : (byte)0).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(data)),
        };
        t.RawData = ByteString.CopyFrom(bytes);
    }
}
