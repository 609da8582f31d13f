using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Tests.Kernels;

/// <summary>The bias epilogue of <see cref="Sgemm.MultiplyBias"/> gives exactly Multiply followed by adding the bias.</summary>
public class SgemmBiasTests
{
    [Theory]
    [InlineData(false, true, 7, 5, 3, 0f, 0)]        // direct path
    [InlineData(false, true, 1, 300, 200, 0f, 0)]    // gemv (m = 1)
    [InlineData(true, false, 300, 1, 200, 1f, 0)]    // gemv (n = 1), beta = 1
    [InlineData(false, true, 61, 45, 70, 0f, 1)]     // blocked, one thread, edge tiles
    [InlineData(false, true, 256, 200, 1000, 0f, 0)] // shared-packing threads, several k passes
    [InlineData(true, false, 130, 77, 400, 1f, 2)]   // transposed A, beta = 1, ragged edges
    [InlineData(false, false, 100, 64, 0, 0f, 2)]    // k = 0: C = bias
    public void EqualsMultiplyThenAddBias(bool ta, bool tb, int m, int n, int k, float beta, int threads)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        float[] Rand(int len) { var v = new float[len]; for (int i = 0; i < len; i++) v[i] = (float)(rng.NextDouble() * 2 - 1); return v; }
        var a = Rand(m * k); var b = Rand(k * n); var bias = Rand(n); var c0 = Rand(m * n);
        int lda = ta ? m : k, ldb = tb ? k : n;
        lda = Math.Max(lda, 1); ldb = Math.Max(ldb, 1);
        var expect = (float[])c0.Clone();
        Sgemm.Multiply(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, expect, n, threads);
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) expect[i * n + j] += bias[j];
        var got = (float[])c0.Clone();
        Sgemm.MultiplyBias(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, got, n, bias, threads);
        Assert.Equal(expect, got);
    }

    [Fact]
    public void WrongBiasLengthIsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.MultiplyBias(false, false, 2, 3, 4, 1f, new float[8], 4, new float[12], 3, 0f, new float[6], 3, new float[2]));
        Assert.Contains("bias", ex.Message);
    }
}
