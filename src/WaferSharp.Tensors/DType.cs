namespace WaferSharp.Tensors;

/// <summary>Element types a tensor can hold. Floating arithmetic always accumulates in float32.</summary>
public enum DType : byte
{
    /// <summary>IEEE 754 binary32.</summary>
    Float32,
    /// <summary>bfloat16 (8-bit exponent, 7-bit mantissa), stored as raw 16-bit patterns.</summary>
    BFloat16,
    /// <summary>IEEE 754 binary16, stored as raw 16-bit patterns.</summary>
    Float16,
    /// <summary>64-bit signed integer.</summary>
    Int64,
    /// <summary>32-bit signed integer.</summary>
    Int32,
    /// <summary>Boolean, one byte per element.</summary>
    Bool,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this DType t) => t switch
    {
        DType.Float32 => 4, DType.BFloat16 => 2, DType.Float16 => 2,
        DType.Int64 => 8, DType.Int32 => 4, DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>True for float32, bfloat16 and float16.</summary>
    public static bool IsFloating(this DType t) => t is DType.Float32 or DType.BFloat16 or DType.Float16;

    /// <summary>True for int32 and int64.</summary>
    public static bool IsInteger(this DType t) => t is DType.Int32 or DType.Int64;

    /// <summary>Short stable name used by the IR printer and file formats ("f32", "bf16", …).</summary>
    public static string ShortName(this DType t) => t switch
    {
        DType.Float32 => "f32", DType.BFloat16 => "bf16", DType.Float16 => "f16",
        DType.Int64 => "i64", DType.Int32 => "i32", DType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Parses a short or PyTorch-style name ("f32", "float32", "bfloat16", "int64", …).</summary>
    public static DType Parse(string name) => name.ToLowerInvariant() switch
    {
        "f32" or "float32" or "float" => DType.Float32,
        "bf16" or "bfloat16" => DType.BFloat16,
        "f16" or "float16" or "half" => DType.Float16,
        "i64" or "int64" or "long" => DType.Int64,
        "i32" or "int32" or "int" => DType.Int32,
        "bool" => DType.Bool,
        _ => throw new ArgumentException($"unknown dtype '{name}'; use one of f32, bf16, f16, i64, i32, bool"),
    };
}
