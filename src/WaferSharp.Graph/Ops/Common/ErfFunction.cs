namespace WaferSharp.Graph.Ops;

/// <summary>
/// The error function to float32 accuracy (absolute error ≲ 1e-13 before rounding, so results are within
/// 1 ulp of float32). |x| &lt; 0.5: Taylor series in x²; 0.5 ≤ |x| &lt; 4.5: piecewise Chebyshev fits (degree
/// 15 on intervals of width 0.5), computed once at start-up from a double-precision series; beyond: ±1
/// (erfc(4.5) ≈ 2e-10 is below half an ulp of 1f).
/// </summary>
public static class ErfFunction
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double Lo = 0.5, Width = 0.5;
    private const int Pieces = 8, Degree = 16;
    private static readonly double[] SmallCoef = BuildSmall();
    private static readonly double[] Cheb = BuildCheb();

    /// <summary>erf(x) in double arithmetic (the float kernels round the result).</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (!(ax < Lo + Pieces * Width)) return double.IsNaN(x) ? double.NaN : Math.Sign(x);
        if (ax < Lo)
        {
            double t = x * x, s = 0;
            for (int i = SmallCoef.Length - 1; i >= 0; i--) s = s * t + SmallCoef[i];
            return x * s;
        }
        int p = Math.Min((int)((ax - Lo) / Width), Pieces - 1);
        double a = Lo + p * Width;
        double u = (2 * (ax - a) - Width) / Width; // in [-1, 1]
        // Clenshaw recurrence
        double b1 = 0, b2 = 0;
        int off = p * Degree;
        for (int j = Degree - 1; j >= 1; j--) { double b0 = 2 * u * b1 - b2 + Cheb[off + j]; b2 = b1; b1 = b0; }
        double r = u * b1 - b2 + 0.5 * Cheb[off];
        return x < 0 ? -r : r;
    }

    /// <summary>Applies erf to a span (float in, float out).</summary>
    public static void Span(ReadOnlySpan<float> x, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = (float)Erf(x[i]);
    }

    /// <summary>Maclaurin coefficients of erf(x)/x as a polynomial in x² (enough terms for |x| &lt; 0.5).</summary>
    private static double[] BuildSmall()
    {
        var c = new double[13];
        double fact = 1;
        for (int n = 0; n < c.Length; n++)
        {
            if (n > 0) fact *= n;
            c[n] = TwoOverSqrtPi * (n % 2 == 0 ? 1 : -1) / (fact * (2 * n + 1));
        }
        return c;
    }

    /// <summary>
    /// Slow, accurate erf for the fit: the Maclaurin series below 2.5 (cancellation stays ≲ 1e-13), the
    /// Laplace continued fraction of erfc above (where it converges quickly).
    /// </summary>
    internal static double ErfSeries(double x)
    {
        if (Math.Abs(x) >= 2.5)
        {
            double ax = Math.Abs(x), t = ax;
            for (int k = 300; k >= 1; k--) t = ax + k / 2.0 / t;
            double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / t;
            return x < 0 ? erfc - 1 : 1 - erfc;
        }
        double x2 = x * x, term = x, sum = x;
        for (int n = 1; n < 400; n++)
        {
            term *= -x2 / n;
            double t = term / (2 * n + 1);
            sum += t;
            if (Math.Abs(t) < 1e-17 * Math.Abs(sum)) break;
        }
        return TwoOverSqrtPi * sum;
    }

    private static double[] BuildCheb()
    {
        var c = new double[Pieces * Degree];
        var f = new double[Degree];
        for (int p = 0; p < Pieces; p++)
        {
            double a = Lo + p * Width;
            for (int k = 0; k < Degree; k++)
            {
                double u = Math.Cos(Math.PI * (k + 0.5) / Degree);
                f[k] = ErfSeries(a + (u + 1) * Width / 2);
            }
            for (int j = 0; j < Degree; j++)
            {
                double s = 0;
                for (int k = 0; k < Degree; k++) s += f[k] * Math.Cos(Math.PI * j * (k + 0.5) / Degree);
                c[p * Degree + j] = 2.0 / Degree * s;
            }
        }
        return c;
    }
}
