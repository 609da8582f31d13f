namespace WaferSharp.Tests.Fabric;

internal static class FabricTestUtil
{
    /// <summary>fp32 cost parameters of the compiler on mesh:S×S.</summary>
    public static WaferSharp.Compiler.CostParams MeshParams(int s) => new(WaferSharp.Hardware.WaferSpec.Mesh(s, s), WaferSharp.Compiler.Precision.Fp32);

    /// <summary>
    /// A calibration case: prints the FIDELITY table's row and asserts the compiler's prediction within 10 % of the
    /// simulated cycles.
    /// </summary>
    public static void AssertCalibrated(Xunit.Abstractions.ITestOutputHelper output, long simulated, double predicted, string what)
    {
        double err = Math.Abs(predicted - simulated) / simulated;
        output.WriteLine($"{what}: simulated {simulated}, predicted {predicted:F0}, error {(predicted - simulated) / simulated:P1}");
        Assert.True(err <= 0.10, $"{what}: simulated {simulated}, predicted {predicted:F0} ({err:P1})");
    }

    public static float[] Random(int n, int seed, float lo = -1, float hi = 1)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (float)r.NextDouble() * (hi - lo);
        return a;
    }

    /// <summary>max |a − b| / max |b| (relative to the reference's scale).</summary>
    public static double RelErr(float[] got, float[] want)
    {
        Assert.Equal(want.Length, got.Length);
        double d = 0, m = 1e-30;
        for (int i = 0; i < want.Length; i++) { d = Math.Max(d, Math.Abs((double)got[i] - want[i])); m = Math.Max(m, Math.Abs(want[i])); }
        return d / m;
    }

    public static float[] MatMul(float[] a, float[] b, int m, int k, int n)
    {
        var c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)a[i * k + t] * b[t * n + j];
                c[i * n + j] = (float)s;
            }
        return c;
    }
}
