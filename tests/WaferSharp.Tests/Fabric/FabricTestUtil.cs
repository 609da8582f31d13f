namespace WaferSharp.Tests.Fabric;

internal static class FabricTestUtil
{
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
