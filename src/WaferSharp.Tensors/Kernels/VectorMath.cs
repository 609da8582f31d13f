using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace WaferSharp.Tensors.Kernels;

/// <summary>
/// Float32 transcendental functions on <see cref="Vector256{T}"/> lanes, written for throughput: the library
/// versions widen to double and run several times slower on this kind of CPU, which made GELU cost more than
/// the GEMMs around it.
/// </summary>
public static class VectorMath
{
    /// <summary>
    /// e^x with range reduction x = n·ln2 + r (ln2 split in a short and a long part so n·ln2_hi is exact) and a
    /// degree-7 Taylor polynomial on |r| ≤ ln2/2; relative error ≤ 1e-7 (about 1 ulp). Below -87.33 returns 0,
    /// above 88.37 saturates (e^88.37 ≈ 2.4e38).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var xc = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.33f)), Vector256.Create(88.37f));
        var n = Vector256.Round(xc * Vector256.Create(1.44269504088896341f));
        var r = xc - n * Vector256.Create(0.693359375f);
        r -= n * Vector256.Create(-2.12194440e-4f);
        var p = Vector256.Create(1f / 5040);
        p = p * r + Vector256.Create(1f / 720);
        p = p * r + Vector256.Create(1f / 120);
        p = p * r + Vector256.Create(1f / 24);
        p = p * r + Vector256.Create(1f / 6);
        p = p * r + Vector256.Create(0.5f);
        p = p * r + Vector256<float>.One;
        p = p * r + Vector256<float>.One;
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(-87.33f)), Vector256<float>.Zero, p * scale);
    }
}
