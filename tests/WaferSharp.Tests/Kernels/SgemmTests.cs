using FsCheck.Xunit;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Tests.Kernels;

/// <summary>
/// Correctness of <see cref="Sgemm"/> against a naive double-precision reference. Tests that flip the
/// internal test hooks (portable kernel, direct-path threshold) live in a non-parallel collection;
/// other code calling Sgemm meanwhile still gets correct results, just through another path.
/// </summary>
[Collection(nameof(SgemmHooksCollection))]
public class SgemmTests
{
    private const double RelTol = 1e-4;

    // ------------------------------------------------------------------ helpers

    private static float[] Random(int count, int seed, bool withNaN = false)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        if (withNaN) for (int i = 0; i < x.Length; i += 3) x[i] = float.NaN;
        return x;
    }

    /// <summary>Storage length for a rows×cols matrix with leading dimension ld.</summary>
    private static int Len(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;

    /// <summary>Checks c (result) against the double reference computed from a, b and the original c0.</summary>
    private static void AssertGemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int lda, int aOff, float[] b, int ldb, int bOff, float beta, float[] c0, float[] c, int ldc, int cOff,
        string what)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0, mag = 0;
                for (int l = 0; l < k; l++)
                {
                    double av = transA ? a[aOff + l * lda + i] : a[aOff + i * lda + l];
                    double bv = transB ? b[bOff + j * ldb + l] : b[bOff + l * ldb + j];
                    s += av * bv;
                    mag += Math.Abs(av * bv);
                }
                double old = c0[cOff + i * ldc + j];
                double expect = alpha * s + (beta == 0f ? 0 : beta * old);
                double scale = Math.Abs(alpha) * mag + (beta == 0f ? 0 : Math.Abs(beta * old));
                double got = c[cOff + i * ldc + j];
                double err = Math.Abs(got - expect);
                if (!(err <= RelTol * Math.Max(1.0, scale)))
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {expect} (err {err:E3}, scale {scale:E3})");
            }
        }
        // elements between rows (ldc padding) must be untouched
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc && cOff + i * ldc + j < c.Length && i < m - 1; j++)
                if (BitConverter.SingleToInt32Bits(c[cOff + i * ldc + j]) != BitConverter.SingleToInt32Bits(c0[cOff + i * ldc + j]))
                    Assert.Fail($"{what}: padding C[{i},{j}] was modified");
    }

    private static void RunCase(bool transA, bool transB, int m, int n, int k, float alpha, float beta,
        int padA = 0, int padB = 0, int padC = 0, int maxThreads = 0, int seed = 1)
    {
        int lda = (transA ? m : k) + padA, ldb = (transB ? k : n) + padB, ldc = n + padC;
        lda = Math.Max(1, lda); ldb = Math.Max(1, ldb); ldc = Math.Max(1, ldc);
        var a = Random(Len(transA ? k : m, transA ? m : k, lda), seed);
        var b = Random(Len(transB ? n : k, transB ? k : n, ldb), seed + 1);
        var c0 = Random(Len(m, n, ldc), seed + 2);
        var c = (float[])c0.Clone();
        Sgemm.Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);
        AssertGemm(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c0, c, ldc, 0,
            $"tA={transA} tB={transB} m={m} n={n} k={k} alpha={alpha} beta={beta} pads={padA},{padB},{padC} threads={maxThreads}");
    }

    public static IEnumerable<object[]> Shapes()
    {
        int[][] shapes =
        [
            [1, 1, 1], [7, 7, 7], [17, 17, 17], [63, 63, 63], [65, 65, 65], [129, 129, 129],
            [257, 257, 257], [6, 16, 1], [12, 32, 300], [5, 15, 3], [7, 17, 513],
            [63, 129, 17], [129, 17, 63], [300, 33, 70], [33, 300, 70], [1, 300, 200], [300, 1, 200],
            [2, 2, 5000], [250, 260, 3], [97, 1030, 40],
        ];
        foreach (var s in shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return [s[0], s[1], s[2], ta, tb];
    }

    // ------------------------------------------------------------------ shapes × transposes

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(int m, int n, int k, bool transA, bool transB)
    {
        RunCase(transA, transB, m, n, k, 1f, 0f);
        RunCase(transA, transB, m, n, k, -0.75f, 0.5f, seed: 7);
    }

    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(2.5f, -1.25f)]
    [InlineData(-1f, 1f)]
    [InlineData(0.5f, 0f)]
    public void AlphaBetaCombinations(float alpha, float beta)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                RunCase(ta, tb, 65, 129, 257, alpha, beta);
                RunCase(ta, tb, 7, 9, 11, alpha, beta);
            }
    }

    [Fact]
    public void LeadingDimensionsWithPadding()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                RunCase(ta, tb, 70, 90, 130, 1f, 0.25f, padA: 3, padB: 5, padC: 7);
                RunCase(ta, tb, 1, 90, 130, 1f, 0.25f, padA: 3, padB: 5, padC: 7);
                RunCase(ta, tb, 90, 1, 130, 1f, 0.25f, padA: 3, padB: 5, padC: 7);
            }
    }

    [Fact]
    public void LargeMultiBlock()
    {
        // crosses KC, MC and (with the column split across threads) several register-tile edges
        RunCase(false, false, 301, 517, 611, 1f, 0f);
        RunCase(true, true, 301, 517, 611, 1f, 1f, seed: 3);
    }

    // ------------------------------------------------------------------ special values

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void BetaZeroIgnoresNaNInC(bool transA, bool transB)
    {
        foreach (var (m, n, k) in new[] { (5, 7, 3), (65, 67, 70), (1, 100, 400), (100, 1, 400), (200, 300, 100) })
        {
            int lda = transA ? m : k, ldb = transB ? k : n;
            var a = Random(m * k, 1);
            var b = Random(k * n, 2);
            var c = Random(m * n, 3, withNaN: true);
            var c0 = (float[])c.Clone();
            Sgemm.Multiply(transA, transB, m, n, k, 1.5f, a, lda, b, ldb, 0f, c, n);
            Assert.DoesNotContain(c, float.IsNaN);
            AssertGemm(transA, transB, m, n, k, 1.5f, a, lda, 0, b, ldb, 0, 0f, c0, c, n, 0, "beta=0 NaN");
        }
    }

    [Fact]
    public void KZeroScalesC()
    {
        var c = new float[] { 1, 2, float.NaN, 4, 5, 6 };
        Sgemm.Multiply(false, false, 2, 3, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 3, 0f, c, 3);
        Assert.Equal(new float[6], c);

        c = [1, 2, 3, 4, 5, 6];
        Sgemm.Multiply(false, false, 2, 3, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 3, 2f, c, 3);
        Assert.Equal(new float[] { 2, 4, 6, 8, 10, 12 }, c);
    }

    [Fact]
    public void AlphaZeroOnlyScalesC()
    {
        var a = Random(40 * 50, 1);
        var b = Random(50 * 60, 2);
        var c = Random(40 * 60, 3);
        var expect = c.Select(x => x * 0.5f).ToArray();
        Sgemm.Multiply(false, false, 40, 60, 50, 0f, a, 50, b, 60, 0.5f, c, 60);
        Assert.Equal(expect, c);
    }

    [Fact]
    public void EmptyDimensionsAreNoOps()
    {
        var c = new float[] { 1, 2, 3 };
        Sgemm.Multiply(false, false, 0, 3, 4, 1f, ReadOnlySpan<float>.Empty, 4, new float[12], 3, 0f, c, 3);
        Sgemm.Multiply(false, false, 3, 0, 4, 1f, new float[12], 4, ReadOnlySpan<float>.Empty, 1, 0f, c, 1);
        Assert.Equal(new float[] { 1, 2, 3 }, c);
    }

    [Fact]
    public void RejectsShortBuffersAndBadLeadingDims()
    {
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 4, 4, 4, 1f, new float[15], 4, new float[16], 4, 0f, new float[16], 4));
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 4, 4, 4, 1f, new float[16], 4, new float[15], 4, 0f, new float[16], 4));
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 4, 4, 4, 1f, new float[16], 4, new float[16], 4, 0f, new float[15], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, 4, 4, 4, 1f, new float[16], 3, new float[16], 4, 0f, new float[16], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(true, false, 5, 4, 4, 1f, new float[20], 4, new float[16], 4, 0f, new float[20], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, -1, 4, 4, 1f, new float[16], 4, new float[16], 4, 0f, new float[16], 4));
    }

    // ------------------------------------------------------------------ threading / paths

    [Fact]
    public void ThreadCountDoesNotChangeResults()
    {
        foreach (var (m, n, k) in new[] { (257, 263, 300), (1000, 40, 300), (40, 1000, 300), (6, 2000, 200) })
        {
            var a = Random(m * k, 1);
            var b = Random(k * n, 2);
            var c1 = new float[m * n];
            Sgemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c1, n, maxThreads: 1);
            foreach (int t in new[] { 2, 3, 4, 8 })
            {
                var ct = new float[m * n];
                Sgemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, ct, n, maxThreads: t);
                Assert.Equal(c1, ct); // partitioning never changes the summation order
            }
            AssertGemm(false, false, m, n, k, 1f, a, k, 0, b, n, 0, 0f, new float[m * n], c1, n, 0, "threads");
        }
    }

    [Fact]
    public void BlockedPathOnTinyShapes()
    {
        long old = Sgemm.DirectThreshold;
        Sgemm.DirectThreshold = 0;
        try
        {
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (var (m, n, k) in new[] { (1, 1, 1), (2, 3, 1), (7, 7, 7), (6, 16, 4), (5, 17, 9), (13, 31, 3) })
                    {
                        RunCase(ta, tb, m, n, k, 1f, 0f);
                        RunCase(ta, tb, m, n, k, 2f, -1f, padA: 1, padB: 2, padC: 3);
                    }
        }
        finally { Sgemm.DirectThreshold = old; }
    }

    [Fact]
    public void PortableKernelMatchesReference()
    {
        bool old = Sgemm.ForcePortableKernel;
        Sgemm.ForcePortableKernel = true;
        try
        {
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    RunCase(ta, tb, 65, 129, 257, 1f, 0f);
                    RunCase(ta, tb, 63, 17, 300, -1f, 0.5f);
                }
        }
        finally { Sgemm.ForcePortableKernel = old; }
    }

    // ------------------------------------------------------------------ batched

    [Theory]
    [InlineData(false, false, 1, 1, 1)]      // both operands distinct per batch
    [InlineData(true, false, 0, 1, 1)]       // A broadcast
    [InlineData(false, true, 1, 0, 1)]       // B broadcast
    [InlineData(true, true, 1, 1, 1)]
    public void BatchedMatchesReference(bool transA, bool transB, int aDistinct, int bDistinct, int cDistinct)
    {
        // (batch, m, n, k): many small (parallel over batch), few large (parallel inside), odd sizes
        foreach (var (batch, m, n, k) in new[] { (37, 7, 9, 11), (16, 33, 17, 65), (3, 129, 130, 131), (2, 257, 63, 200), (1, 65, 65, 65) })
        {
            int lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
            long sA = aDistinct * (long)m * k + 5 * aDistinct, sB = bDistinct * (long)k * n + 3 * bDistinct, sC = cDistinct * (long)m * n + 2;
            var a = Random((int)((batch - 1) * sA + m * k), 11);
            var b = Random((int)((batch - 1) * sB + k * n), 12);
            var c0 = Random((int)((batch - 1) * sC + m * n), 13);
            var c = (float[])c0.Clone();
            Sgemm.MultiplyBatched(transA, transB, m, n, k, 0.5f, a, lda, sA, b, ldb, sB, 2f, c, ldc, sC, batch);
            for (int i = 0; i < batch; i++)
                AssertGemm(transA, transB, m, n, k, 0.5f, a, lda, (int)(i * sA), b, ldb, (int)(i * sB), 2f, c0, c, ldc, (int)(i * sC),
                    $"batch {i}/{batch} m={m} n={n} k={k}");
            // the gaps between C batches are untouched
            for (int i = 0; i + 1 < batch; i++)
                for (long x = i * sC + m * n; x < (i + 1) * sC; x++)
                    Assert.Equal(c0[x], c[x]);
        }
    }

    [Fact]
    public void BatchedSingleThreadEqualsMultiThread()
    {
        int batch = 24, m = 40, n = 50, k = 60;
        var a = Random(batch * m * k, 1);
        var b = Random(k * n, 2);
        var c1 = new float[batch * m * n];
        var c2 = new float[batch * m * n];
        Sgemm.MultiplyBatched(false, false, m, n, k, 1f, a, k, m * k, b, n, 0, 0f, c1, n, m * n, batch, maxThreads: 1);
        Sgemm.MultiplyBatched(false, false, m, n, k, 1f, a, k, m * k, b, n, 0, 0f, c2, n, m * n, batch);
        Assert.Equal(c1, c2);
    }

    [Fact]
    public void BatchedRejectsAliasedOutput()
    {
        Assert.Throws<ArgumentException>(() =>
            Sgemm.MultiplyBatched(false, false, 2, 2, 2, 1f, new float[8], 2, 4, new float[8], 2, 4, 0f, new float[4], 2, 0, 2));
        Assert.Throws<ArgumentException>(() =>
            Sgemm.MultiplyBatched(false, false, 2, 2, 2, 1f, new float[7], 2, 4, new float[8], 2, 4, 0f, new float[8], 2, 4, 2));
    }

    // ------------------------------------------------------------------ property

    [Property(MaxTest = 60)]
    public bool RandomShapesMatchReference(byte m0, byte n0, ushort k0, bool transA, bool transB, bool betaOne)
    {
        int m = 1 + m0 % 80, n = 1 + n0 % 80, k = k0 % 300;
        RunCase(transA, transB, m, n, k, 1.25f, betaOne ? 1f : 0f, padA: m0 % 3, padC: n0 % 2, seed: m0 + n0 + k0);
        return true;
    }
}

/// <summary>Tests that flip Sgemm's internal static hooks must not run concurrently with each other.</summary>
[CollectionDefinition(nameof(SgemmHooksCollection), DisableParallelization = true)]
public class SgemmHooksCollection;
