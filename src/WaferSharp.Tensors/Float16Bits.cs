using System.Runtime.CompilerServices;

namespace WaferSharp.Tensors;

/// <summary>Conversions between float32 and the 16-bit float formats, stored as raw <see cref="ushort"/> bits.</summary>
public static class Float16Bits
{
    /// <summary>float32 → bfloat16 with round-to-nearest-even (NaN stays NaN), as PyTorch does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToBFloat16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000) return (ushort)((u >> 16) | 0x40);
        uint rounding = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }

    /// <summary>bfloat16 → float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromBFloat16(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>float32 → IEEE half with round-to-nearest-even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToHalf(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>IEEE half → float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromHalf(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    /// <summary>Rounds every value through bfloat16 and back (what a bf16 store then load does).</summary>
    public static void RoundTripBFloat16(Span<float> x) { for (int i = 0; i < x.Length; i++) x[i] = FromBFloat16(ToBFloat16(x[i])); }

    /// <summary>Rounds every value through float16 and back.</summary>
    public static void RoundTripHalf(Span<float> x) { for (int i = 0; i < x.Length; i++) x[i] = FromHalf(ToHalf(x[i])); }
}
