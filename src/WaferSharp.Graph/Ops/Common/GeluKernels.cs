using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Vectorized float32 GELU forward and backward. The exact (erf) form uses the complementary error function
/// erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2) (the Chebyshev-fitted form in Numerical Recipes, §6.2, with
/// fractional error below 1.2e-7 everywhere), so Φ(x) keeps full relative accuracy in the negative tail too.
/// The tanh form uses 1 + tanh(a) = 2 / (1 + e^{-2a}). One formula serves vector lanes and the scalar tail.
/// </summary>
internal static class GeluKernels
{
    private const float SqrtHalf = 0.70710678118654752440f;
    private const float InvSqrt2Pi = 0.39894228040143267794f;
    private const float Beta = 0.79788456080286535588f; // √(2/π)
    private const float Kappa = 0.044715f;

    // P(t) coefficients of the erfc fit (Numerical Recipes erfcc).
    private const float C0 = -1.26551223f, C1 = 1.00002368f, C2 = 0.37409196f, C3 = 0.09678418f, C4 = -0.18628806f,
        C5 = 0.27886807f, C6 = -1.13520398f, C7 = 1.48851587f, C8 = -0.82215223f, C9 = 0.17087277f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Cdf(Vector256<float> x)
    {
        var u = x * Vector256.Create(SqrtHalf);
        var z = Vector256.Abs(u);
        var t = Vector256<float>.One / (Vector256<float>.One + z * Vector256.Create(0.5f));
        var p = Vector256.Create(C9);
        p = p * t + Vector256.Create(C8); p = p * t + Vector256.Create(C7); p = p * t + Vector256.Create(C6);
        p = p * t + Vector256.Create(C5); p = p * t + Vector256.Create(C4); p = p * t + Vector256.Create(C3);
        p = p * t + Vector256.Create(C2); p = p * t + Vector256.Create(C1); p = p * t + Vector256.Create(C0);
        var halfErfc = Vector256.Create(0.5f) * t * VectorMath.Exp(p - z * z);
        // Φ(x) = 1 - erfc(u)/2 for u ≥ 0, erfc(-u)/2 for u < 0
        return Vector256.ConditionalSelect(Vector256.LessThan(u, Vector256<float>.Zero), halfErfc, Vector256<float>.One - halfErfc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TanhFactor(Vector256<float> x) // (1 + tanh(a)) / 2 = 1 / (1 + e^{-2a})
    {
        var a = Vector256.Create(Beta) * (x + Vector256.Create(Kappa) * x * x * x);
        return Vector256<float>.One / (Vector256<float>.One + VectorMath.Exp(Vector256.Create(-2f) * a));
    }

    /// <summary>dst = gelu(x).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> dst, bool tanh)
    {
        int i = 0;
        Span<float> tail = stackalloc float[8];
        for (; i <= x.Length - 8; i += 8)
        {
            var v = Vector256.Create(x.Slice(i, 8));
            (tanh ? v * TanhFactor(v) : v * Cdf(v)).CopyTo(dst.Slice(i, 8));
        }
        if (i < x.Length)
        {
            tail.Clear();
            x[i..].CopyTo(tail);
            var v = Vector256.Create(tail);
            (tanh ? v * TanhFactor(v) : v * Cdf(v)).CopyTo(tail);
            tail[..(x.Length - i)].CopyTo(dst[i..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Derivative(Vector256<float> x, bool tanh)
    {
        if (!tanh) return Cdf(x) + x * Vector256.Create(InvSqrt2Pi) * VectorMath.Exp(Vector256.Create(-0.5f) * x * x);
        // s = (1+tanh a)/2; d/dx [x s] = s + x · 2s(1-s) · β(1 + 3κx²)
        var s = TanhFactor(x);
        return s + x * Vector256.Create(2f) * s * (Vector256<float>.One - s) * Vector256.Create(Beta) * (Vector256<float>.One + Vector256.Create(3 * Kappa) * x * x);
    }

    /// <summary>dst = g · gelu'(x).</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> dst, bool tanh)
    {
        int i = 0;
        for (; i <= x.Length - 8; i += 8)
            (Vector256.Create(g.Slice(i, 8)) * Derivative(Vector256.Create(x.Slice(i, 8)), tanh)).CopyTo(dst.Slice(i, 8));
        if (i < x.Length)
        {
            Span<float> tx = stackalloc float[8], tg = stackalloc float[8];
            tx.Clear(); tg.Clear();
            x[i..].CopyTo(tx); g[i..].CopyTo(tg);
            (Vector256.Create(tg) * Derivative(Vector256.Create(tx), tanh)).CopyTo(tx);
            tx[..(x.Length - i)].CopyTo(dst[i..]);
        }
    }
}
