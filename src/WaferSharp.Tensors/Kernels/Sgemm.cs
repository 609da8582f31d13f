using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

[assembly: InternalsVisibleTo("WaferSharp.Tests")]
[assembly: InternalsVisibleTo("WaferSharp.Bench")]

namespace WaferSharp.Tensors.Kernels;

/// <summary>
/// Single-precision general matrix multiply (SGEMM), BLIS/GotoBLAS style:
/// <list type="bullet">
/// <item>three levels of cache blocking (NC columns of B in L3, KC×MC block of A in L2,
///       a KC×NR micro-panel of B in L1),</item>
/// <item>packing of op(A) into MR-row micro-panels and of op(B) into NR-column micro-panels
///       (the packing absorbs the transposes, so the micro-kernel sees one layout),</item>
/// <item>a register-tiled 6×16 AVX2/FMA micro-kernel (12 ymm accumulators), with a portable
///       <see cref="Vector128"/> fallback,</item>
/// <item>multi-threading by partitioning C into per-thread rectangles (small problems run on the
///       calling thread), thread-static packing buffers (no steady-state allocation).</item>
/// </list>
/// All matrices are row-major.
/// </summary>
public static unsafe class Sgemm
{
    /// <summary>Rows of the register tile (micro-kernel height).</summary>
    public const int MR = 6;
    /// <summary>Columns of the register tile (micro-kernel width, two ymm registers).</summary>
    public const int NR = 16;

    // Cache blocking, chosen for Zen 3 (L1d 32 KB, L2 512 KB per core, L3 32 MB shared):
    //   KC×NR  B micro-panel = 384*16*4 = 24 KB  -> stays in L1 while the ir loop walks the A block
    //   MC×KC  A block       = 96*384*4  = 144 KB -> stays in L2 while the jr loop walks the B block
    //   KC×NC  B block       = 384*4080*4 ≈ 6 MB  -> L3
    // Measured on the 2-core EPYC (n = 2048/4096, one thread): KC = 384..512 beats BLIS's 256 by
    // ~5-10 % because every KC pass streams all of C (too big for L3 at n ≥ 2048) in and out once;
    // KC ≥ 768 starts to lose (B micro-panel no longer fits L1).
    // Internal (not const) so the benchmark can sweep them.
    internal static int KC = 384;
    internal static int MC = 96;
    internal static int NC = 4080;

    /// <summary>Below this m·n·k a plain triple loop is faster than packing.</summary>
    internal static long DirectThreshold = 32 * 1024;
    /// <summary>Below this m·n·k the problem runs on the calling thread only.</summary>
    internal static long ParallelThreshold = 1L << 20;
    /// <summary>Benchmark hook: use the static one-rectangle-per-thread split (each thread packs its own operands).</summary>
    internal static bool StaticSplit;
    /// <summary>Test hook: force the portable (non-FMA) micro-kernel.</summary>
    internal static bool ForcePortableKernel;

    private static bool UseFmaKernel => Fma.IsSupported && Avx2.IsSupported && !ForcePortableKernel;

    /// <summary>
    /// C[m×n] = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is m×k (A stored k×m with
    /// leading dim <paramref name="lda"/> if <paramref name="transA"/>), op(B) is k×n (B stored n×k if
    /// <paramref name="transB"/>). With beta = 0 the previous contents of C are ignored (NaNs in C do
    /// not propagate). <paramref name="maxThreads"/> = 0 means <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        int maxThreads = 0)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        int threads = ResolveThreads(maxThreads);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var prob = new Problem(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            Run(in prob, threads);
        }
    }

    /// <summary>
    /// Linear-layer GEMM: C[m×n] = alpha * op(A) * op(B) + beta * C + bias, with <paramref name="bias"/>[n] added
    /// to every row inside the last k pass while the C tile is still in L1 (no separate pass over C). Each element
    /// gets exactly the value of <see cref="Multiply"/> followed by adding the bias.
    /// </summary>
    public static void MultiplyBias(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        ReadOnlySpan<float> bias, int maxThreads = 0)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (bias.Length != n) throw new ArgumentException($"bias has {bias.Length} elements, C has n = {n} columns", nameof(bias));
        if (m == 0 || n == 0) return;
        int threads = ResolveThreads(maxThreads);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        fixed (float* pbias = bias)
        {
            var prob = new Problem(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc).WithBias(pbias);
            Run(in prob, threads);
        }
    }

    /// <summary>
    /// Batched GEMM: for i in [0, batchCount): C_i = alpha * op(A_i) * op(B_i) + beta * C_i with
    /// A_i = a[i*strideA ..], B_i = b[i*strideB ..], C_i = c[i*strideC ..]. A stride of 0 for A or B
    /// broadcasts that operand over the batch; <paramref name="strideC"/> may be 0 only when
    /// batchCount ≤ 1. Many small GEMMs are spread over threads by batch; few large ones are each
    /// multi-threaded internally.
    /// </summary>
    public static void MultiplyBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, long strideA, ReadOnlySpan<float> b, int ldb, long strideB,
        float beta, Span<float> c, int ldc, long strideC, int batchCount, int maxThreads = 0)
    {
        if (batchCount < 0) throw new ArgumentOutOfRangeException(nameof(batchCount));
        if (strideA < 0 || strideB < 0 || strideC < 0) throw new ArgumentOutOfRangeException(nameof(strideA), "strides must be non-negative");
        if (batchCount > 1 && strideC == 0 && m > 0 && n > 0)
            throw new ArgumentException("strideC = 0 with batchCount > 1 would make batches overwrite each other", nameof(strideC));
        if (batchCount == 0 || m == 0 || n == 0) return;
        long last = batchCount - 1;
        // validate the last batch element (earlier ones start lower); spans check the rest.
        long aLen = a.Length - last * strideA, bLen = b.Length - last * strideB, cLen = c.Length - last * strideC;
        Validate(transA, transB, m, n, k, aLen, lda, bLen, ldb, cLen, ldc);

        int threads = ResolveThreads(maxThreads);
        long work = (long)m * n * Math.Max(k, 1);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var first = new Problem(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            bool overBatch = threads > 1 && batchCount > 1 &&
                             (batchCount >= 2 * threads || work < 8 * ParallelThreshold) &&
                             work * batchCount >= ParallelThreshold;
            if (!overBatch)
            {
                for (long i = 0; i < batchCount; i++)
                {
                    var p = first.Offset(i * strideA, i * strideB, i * strideC);
                    Run(in p, threads);
                }
                return;
            }
            var job = new BatchJob(first, strideA, strideB, strideC, batchCount, threads);
            job.Execute();
        }
    }

    // ------------------------------------------------------------------ driver

    private static int ResolveThreads(int maxThreads)
    {
        if (maxThreads < 0) throw new ArgumentOutOfRangeException(nameof(maxThreads));
        int t = maxThreads == 0 ? Environment.ProcessorCount : maxThreads;
        return Math.Max(1, Math.Min(t, Environment.ProcessorCount * 4));
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k,
        long aLen, int lda, long bLen, int ldb, long cLen, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m));
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n));
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k));
        CheckOperand("a", "lda", transA ? k : m, transA ? m : k, aLen, lda);
        CheckOperand("b", "ldb", transB ? n : k, transB ? k : n, bLen, ldb);
        CheckOperand("c", "ldc", m, n, cLen, ldc);
    }

    private static void CheckOperand(string name, string ldName, int rows, int cols, long len, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentOutOfRangeException(ldName, $"{ldName} = {ld} must be >= max(1, {cols})");
        if (rows == 0 || cols == 0) return;
        long need = (long)(rows - 1) * ld + cols;
        if (len < need)
            throw new ArgumentException($"{name} has {len} elements, a {rows}x{cols} matrix with leading dimension {ld} needs {need}", name);
    }

    /// <summary>The operands of one GEMM, as raw pointers (the caller keeps them pinned).</summary>
    private readonly struct Problem
    {
        public readonly nint A, B, C;
        /// <summary>Per-column bias added after the product (0 = none).</summary>
        public readonly nint Bias;
        public readonly nint Lda, Ldb, Ldc;
        public readonly int M, N, K;
        public readonly float Alpha, Beta;
        public readonly bool TransA, TransB;

        public Problem(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
            float* b, int ldb, float beta, float* c, int ldc)
        {
            TransA = transA; TransB = transB; M = m; N = n; K = k; Alpha = alpha; Beta = beta;
            A = (nint)a; B = (nint)b; C = (nint)c; Lda = lda; Ldb = ldb; Ldc = ldc;
        }

        private Problem(in Problem p, nint a, nint b, nint c)
        {
            this = p; A = a; B = b; C = c;
        }

        private Problem(in Problem p, nint bias)
        {
            this = p; Bias = bias;
        }

        public Problem WithBias(float* bias) => new(in this, (nint)bias);

        public Problem Offset(long da, long db, long dc) =>
            new(in this, A + (nint)(da * sizeof(float)), B + (nint)(db * sizeof(float)), C + (nint)(dc * sizeof(float)));

        public float* PA => (float*)A;
        public float* PB => (float*)B;
        public float* PC => (float*)C;
        public float* PBias => (float*)Bias;
    }

    /// <summary>Runs one GEMM with up to <paramref name="threads"/> threads.</summary>
    private static void Run(in Problem p, int threads)
    {
        int m = p.M, n = p.N, k = p.K;
        long work = (long)m * n * k;
        if (k == 0 || p.Alpha == 0f || work <= DirectThreshold || m == 1 || n == 1)
        {
            if (k == 0 || p.Alpha == 0f) ScaleC(p.PC, p.Ldc, 0, m, 0, n, p.Beta);
            else if (work <= DirectThreshold) Direct(in p, 0, m, 0, n);
            else Gemv(in p);
            if (p.Bias != 0)
                for (int i = 0; i < m; i++)
                {
                    var row = new Span<float>(p.PC + i * p.Ldc, n);
                    TensorPrimitives.Add(row, new ReadOnlySpan<float>(p.PBias, n), row);
                }
            return;
        }
        if (threads > 1 && work >= ParallelThreshold)
        {
            // largest useful thread count: every thread should get at least a few register tiles
            int tiles = ((m + MR - 1) / MR) * ((n + NR - 1) / NR);
            threads = Math.Min(threads, Math.Max(1, tiles / 4));
        }
        else threads = 1;

        if (threads == 1)
        {
            Blocked(in p, 0, m, 0, n);
            return;
        }
        if (StaticSplit) new SplitJob(p, threads).Execute();
        else new SharedPackJob(p, threads).Execute();
    }

    /// <summary>
    /// Multi-threaded GEMM with shared packing: per (jc, pc) pass all threads first pack op(A) and op(B)
    /// together (each operand once, not once per thread), then claim (row block × column chunk) tiles of C
    /// from a shared counter. Dynamic claiming keeps both cores busy when the shared host preempts one of
    /// them (a static half-and-half split then waits for the slower half). The k blocking is the one
    /// <see cref="Blocked"/> uses, so every element of C is accumulated in the same order as on one thread:
    /// results are bit-identical for any thread count.
    /// </summary>
    private sealed class SharedPackJob
    {
        private readonly Problem _p;
        private readonly int _threads, _kcStep, _mcStep, _ncStep;
        private readonly ParallelOptions _opts;
        private float* _bufA, _bufB;
        private int _jc, _nc, _pc, _kc, _mBlocks, _cBlocks, _colChunk, _next;
        private float _beta;

        public SharedPackJob(in Problem p, int threads)
        {
            _p = p; _threads = threads;
            _kcStep = BalancedBlock(p.K, KC, 4); // must match Blocked (same summation order)
            _mcStep = BalancedBlock(p.M, MC, MR);
            _ncStep = BalancedBlock(p.N, NC, NR);
            _opts = new ParallelOptions { MaxDegreeOfParallelism = threads };
        }

        public void Execute()
        {
            var ws = Workspace.Get();
            _bufA = ws.SharedA((nuint)(RoundUp(_p.M, MR) * _kcStep));
            _bufB = ws.PackB((nuint)(RoundUp(_ncStep, NR) * _kcStep));
            _mBlocks = CeilDiv(_p.M, _mcStep);
            for (_jc = 0; _jc < _p.N; _jc += _ncStep)
            {
                _nc = Math.Min(_ncStep, _p.N - _jc);
                // about 8 tiles per thread (tail imbalance ≤ one small tile), columns in whole panels
                int panels = CeilDiv(_nc, NR);
                int want = Math.Clamp(CeilDiv(8 * _threads, _mBlocks), 1, panels);
                _colChunk = CeilDiv(panels, want) * NR;
                _cBlocks = CeilDiv(_nc, _colChunk);
                for (_pc = 0; _pc < _p.K; _pc += _kcStep)
                {
                    _kc = Math.Min(_kcStep, _p.K - _pc);
                    _beta = _pc == 0 ? _p.Beta : 1f;
                    Parallel.For(0, _threads, _opts, Pack);
                    _next = 0;
                    Parallel.For(0, _threads, _opts, Compute);
                }
            }
        }

        private void Pack(int t)
        {
            // B: a contiguous range of NR panels per thread; A: a contiguous range of MR panels per thread
            int bPanels = CeilDiv(_nc, NR);
            int b0 = (int)((long)bPanels * t / _threads), b1 = (int)((long)bPanels * (t + 1) / _threads);
            if (b0 < b1) PackB(in _p, _pc, _kc, _jc + b0 * NR, Math.Min(_nc, b1 * NR) - b0 * NR, _bufB + (nint)b0 * NR * _kc);
            int aPanels = CeilDiv(_p.M, MR);
            int a0 = (int)((long)aPanels * t / _threads), a1 = (int)((long)aPanels * (t + 1) / _threads);
            if (a0 < a1) PackA(in _p, a0 * MR, Math.Min(_p.M, a1 * MR) - a0 * MR, _pc, _kc, _bufA + (nint)a0 * MR * _kc);
        }

        private void Compute(int t)
        {
            bool fma = UseFmaKernel;
            int items = _mBlocks * _cBlocks;
            bool lastK = _pc + _kc >= _p.K;
            float* c = _p.PC;
            nint ldc = _p.Ldc;
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < items)
            {
                int ib = i / _cBlocks, cb = i % _cBlocks;
                int ic = ib * _mcStep, mc = Math.Min(_mcStep, _p.M - ic);
                int c0 = cb * _colChunk, cw = Math.Min(_colChunk, _nc - c0);
                Macro(mc, cw, _kc, _p.Alpha, _beta, _bufA + (nint)ic * _kc, _bufB + (nint)c0 * _kc,
                    c + ic * ldc + _jc + c0, ldc, fma, lastK && _p.Bias != 0 ? _p.PBias + _jc + c0 : null);
            }
        }
    }

    /// <summary>Splits C into a tm×tn grid of rectangles, one per thread (the former scheme; kept for A/B benchmarks).</summary>
    private sealed class SplitJob
    {
        private readonly Problem _p;
        private readonly int _tm, _tn;

        public SplitJob(in Problem p, int threads)
        {
            _p = p;
            // choose the factorisation tm*tn = threads with the least padded work per thread;
            // on ties prefer splitting N (each thread then packs only its own part of B).
            long best = long.MaxValue;
            for (int tm = 1; tm <= threads; tm++)
            {
                if (threads % tm != 0) continue;
                int tn = threads / tm;
                long mt = RoundUp(CeilDiv(p.M, tm), MR), nt = RoundUp(CeilDiv(p.N, tn), NR);
                long cost = mt * nt * 64 + mt + nt; // tie-break towards square-ish pieces
                if (cost < best || (cost == best && tn > _tn)) { best = cost; _tm = tm; _tn = tn; }
            }
        }

        public void Execute()
        {
            int count = _tm * _tn;
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = count }, Work);
        }

        private void Work(int t)
        {
            int ti = t / _tn, tj = t % _tn;
            (int i0, int i1) = Range(_p.M, _tm, ti, MR);
            (int j0, int j1) = Range(_p.N, _tn, tj, NR);
            if (i0 < i1 && j0 < j1) Blocked(in _p, i0, i1, j0, j1);
        }

        private static (int, int) Range(int len, int parts, int idx, int align)
        {
            int units = CeilDiv(len, align);
            int per = units / parts, rem = units % parts;
            int start = idx * per + Math.Min(idx, rem);
            int cnt = per + (idx < rem ? 1 : 0);
            return (Math.Min(len, start * align), Math.Min(len, (start + cnt) * align));
        }
    }

    private sealed class BatchJob
    {
        private readonly Problem _first;
        private readonly long _sa, _sb, _sc;
        private readonly int _batch, _threads;

        public BatchJob(in Problem first, long sa, long sb, long sc, int batch, int threads)
        {
            _first = first; _sa = sa; _sb = sb; _sc = sc; _batch = batch; _threads = threads;
        }

        public void Execute()
        {
            int workers = Math.Min(_threads, _batch);
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, Work);
        }

        private void Work(int w)
        {
            int workers = Math.Min(_threads, _batch);
            // contiguous chunk of batches per worker (keeps broadcast operands hot in cache)
            long per = _batch / workers, rem = _batch % workers;
            long start = w * per + Math.Min(w, rem), end = start + per + (w < rem ? 1 : 0);
            for (long i = start; i < end; i++)
            {
                var p = _first.Offset(i * _sa, i * _sb, i * _sc);
                Run(in p, 1);
            }
        }
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
    private static int RoundUp(int a, int b) => CeilDiv(a, b) * b;

    // ------------------------------------------------------------------ scaling / tiny paths

    private static void ScaleC(float* c, nint ldc, int i0, int i1, int j0, int j1, float beta)
    {
        int w = j1 - j0;
        for (int i = i0; i < i1; i++)
        {
            var row = new Span<float>(c + i * ldc + j0, w);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>Plain loops for tiny problems (no packing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Direct(in Problem p, int i0, int i1, int j0, int j1)
    {
        float* a = p.PA, b = p.PB, c = p.PC;
        nint lda = p.Lda, ldb = p.Ldb, ldc = p.Ldc;
        int k = p.K;
        float alpha = p.Alpha, beta = p.Beta;
        // A(i,l) and B(l,j) strides
        nint ai = p.TransA ? 1 : lda, al = p.TransA ? lda : 1;
        nint bl = p.TransB ? 1 : ldb, bj = p.TransB ? ldb : 1;
        for (int i = i0; i < i1; i++)
        {
            float* arow = a + i * ai;
            float* crow = c + i * ldc;
            for (int j = j0; j < j1; j++)
            {
                float* bcol = b + j * bj;
                float s = 0f;
                for (int l = 0; l < k; l++) s += arow[l * al] * bcol[l * bl];
                float v = alpha * s;
                crow[j] = beta == 0f ? v : v + beta * crow[j];
            }
        }
    }

    /// <summary>m == 1 or n == 1: matrix-vector product with vectorised dot / axpy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv(in Problem p)
    {
        float* a = p.PA, b = p.PB, c = p.PC;
        int m = p.M, n = p.N, k = p.K;
        float alpha = p.Alpha, beta = p.Beta;
        var ws = Workspace.Get();
        if (m == 1)
        {
            // c[1×n] = alpha * x[1×k] · op(B) + beta * c; x = row 0 of op(A)
            float* x = a;
            if (p.TransA && p.Lda != 1) { x = ws.Vector(k); for (int l = 0; l < k; l++) x[l] = a[l * p.Lda]; }
            var crow = new Span<float>(c, n);
            if (!p.TransB)
            {
                // rows of B are contiguous: c = beta*c + sum_l (alpha*x[l]) * B[l,:]
                if (beta == 0f) crow.Clear(); else if (beta != 1f) TensorPrimitives.Multiply(crow, beta, crow);
                for (int l = 0; l < k; l++)
                {
                    float s = alpha * x[l];
                    if (s != 0f) TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(b + l * p.Ldb, n), s, crow, crow);
                }
            }
            else
            {
                var xs = new ReadOnlySpan<float>(x, k);
                for (int j = 0; j < n; j++)
                {
                    float v = alpha * TensorPrimitives.Dot(xs, new ReadOnlySpan<float>(b + j * p.Ldb, k));
                    crow[j] = beta == 0f ? v : v + beta * crow[j];
                }
            }
        }
        else
        {
            // n == 1: c[m×1] = alpha * op(A) · y + beta * c; y = column 0 of op(B)
            float* y = b;
            if (!p.TransB && p.Ldb != 1) { y = ws.Vector(k); for (int l = 0; l < k; l++) y[l] = b[l * p.Ldb]; }
            var ys = new ReadOnlySpan<float>(y, k);
            if (!p.TransA)
            {
                for (int i = 0; i < m; i++)
                {
                    float v = alpha * TensorPrimitives.Dot(new ReadOnlySpan<float>(a + i * p.Lda, k), ys);
                    float* ci = c + i * p.Ldc;
                    *ci = beta == 0f ? v : v + beta * *ci;
                }
            }
            else
            {
                // A stored k×m: accumulate columns into a contiguous temp, then scatter to C
                float* t = ws.Vector2(m);
                var ts = new Span<float>(t, m);
                ts.Clear();
                for (int l = 0; l < k; l++)
                {
                    float s = alpha * y[l];
                    if (s != 0f) TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(a + l * p.Lda, m), s, ts, ts);
                }
                for (int i = 0; i < m; i++)
                {
                    float* ci = c + i * p.Ldc;
                    *ci = beta == 0f ? t[i] : t[i] + beta * *ci;
                }
            }
        }
    }

    // ------------------------------------------------------------------ blocked path

    /// <summary>Per-thread packing buffers (64-byte aligned native memory, grown on demand).</summary>
    private sealed class Workspace
    {
        [ThreadStatic] private static Workspace? t_ws;

        private float* _a, _b, _v, _v2, _sa;
        private nuint _aCap, _bCap, _vCap, _v2Cap, _saCap;

        public static Workspace Get() => t_ws ??= new Workspace();

        public float* PackA(nuint floats) => Ensure(ref _a, ref _aCap, floats);
        public float* PackB(nuint floats) => Ensure(ref _b, ref _bCap, floats);
        /// <summary>All of op(A) for one k block, packed once and read by every thread of a <see cref="SharedPackJob"/>.</summary>
        public float* SharedA(nuint floats) => Ensure(ref _sa, ref _saCap, floats);
        public float* Vector(int floats) => Ensure(ref _v, ref _vCap, (nuint)floats);
        public float* Vector2(int floats) => Ensure(ref _v2, ref _v2Cap, (nuint)floats);

        private static float* Ensure(ref float* p, ref nuint cap, nuint floats)
        {
            if (floats <= cap) return p;
            if (p != null) NativeMemory.AlignedFree(p);
            nuint want = Math.Max(floats, cap + cap / 2);
            p = (float*)NativeMemory.AlignedAlloc(want * sizeof(float), 64);
            cap = want;
            return p;
        }

        ~Workspace()
        {
            if (_a != null) NativeMemory.AlignedFree(_a);
            if (_b != null) NativeMemory.AlignedFree(_b);
            if (_v != null) NativeMemory.AlignedFree(_v);
            if (_v2 != null) NativeMemory.AlignedFree(_v2);
            if (_sa != null) NativeMemory.AlignedFree(_sa);
        }
    }

    /// <summary>Splits <paramref name="len"/> into ⌈len/max⌉ near-equal blocks, rounded up to <paramref name="align"/>.</summary>
    private static int BalancedBlock(int len, int max, int align)
    {
        int blocks = CeilDiv(len, max);
        return Math.Min(max, RoundUp(CeilDiv(len, blocks), align));
    }

    /// <summary>Single-threaded GEMM on the sub-rectangle C[i0..i1, j0..j1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked(in Problem p, int i0, int i1, int j0, int j1)
    {
        int k = p.K;
        int kcStep = BalancedBlock(k, KC, 4);
        int mcStep = BalancedBlock(i1 - i0, MC, MR);
        int ncStep = BalancedBlock(j1 - j0, NC, NR);
        var ws = Workspace.Get();
        float* bufA = ws.PackA((nuint)(RoundUp(mcStep, MR) * kcStep));
        float* bufB = ws.PackB((nuint)(RoundUp(ncStep, NR) * kcStep));
        bool fma = UseFmaKernel;
        float* c = p.PC;
        nint ldc = p.Ldc;

        for (int jc = j0; jc < j1; jc += ncStep)
        {
            int nc = Math.Min(ncStep, j1 - jc);
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                PackB(in p, pc, kc, jc, nc, bufB);
                float beta = pc == 0 ? p.Beta : 1f;
                for (int ic = i0; ic < i1; ic += mcStep)
                {
                    int mc = Math.Min(mcStep, i1 - ic);
                    PackA(in p, ic, mc, pc, kc, bufA);
                    Macro(mc, nc, kc, p.Alpha, beta, bufA, bufB, c + ic * ldc + jc, ldc, fma,
                        pc + kc >= k && p.Bias != 0 ? p.PBias + jc : null);
                }
            }
        }
    }

    /// <summary>Macro-kernel: walks the packed A block (mc×kc) and B block (kc×nc) in register tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro(int mc, int nc, int kc, float alpha, float beta, float* pa, float* pb,
        float* c, nint ldc, bool fma, float* bias = null)
    {
        float* tile = stackalloc float[MR * NR];
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            float* b = pb + (nint)jr * kc;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* a = pa + (nint)ir * kc;
                float* cij = c + ir * ldc + jr;
                if (mr == MR && nr == NR)
                {
                    if (fma) Kernel6x16Fma(kc, a, b, cij, ldc, alpha, beta);
                    else KernelPortable(kc, a, b, cij, ldc, alpha, beta);
                    if (bias != null) AddBiasTile(cij, ldc, bias + jr);
                }
                else
                {
                    if (fma) Kernel6x16Fma(kc, a, b, tile, NR, 1f, 0f);
                    else KernelPortable(kc, a, b, tile, NR, 1f, 0f);
                    for (int r = 0; r < mr; r++)
                    {
                        float* crow = cij + r * ldc;
                        float* trow = tile + r * NR;
                        if (beta == 0f) for (int j = 0; j < nr; j++) crow[j] = alpha * trow[j];
                        else for (int j = 0; j < nr; j++) crow[j] = alpha * trow[j] + beta * crow[j];
                        if (bias != null) for (int j = 0; j < nr; j++) crow[j] += bias[jr + j];
                    }
                }
            }
        }
    }

    /// <summary>Adds bias[0..NR) to the MR rows of a just-written C tile (still in L1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddBiasTile(float* c, nint ldc, float* bias)
    {
        var b0 = Vector256.Load(bias);
        var b1 = Vector256.Load(bias + 8);
        for (int r = 0; r < MR; r++, c += ldc)
        {
            Vector256.Store(Vector256.Load(c) + b0, c);
            Vector256.Store(Vector256.Load(c + 8) + b1, c + 8);
        }
    }

    // ------------------------------------------------------------------ packing

    /// <summary>
    /// Packs op(A)[ic..ic+mc, pc..pc+kc) into MR-row micro-panels: panel r holds, for each l in
    /// [0,kc), the MR values op(A)[ic+r*MR+0..MR, pc+l] contiguously; rows past mc are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(in Problem p, int ic, int mc, int pc, int kc, float* dst)
    {
        nint lda = p.Lda;
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            float* d = dst + (nint)ir * kc;
            if (!p.TransA)
            {
                // A is m×k: element (i,l) at a[i*lda + l]
                float* s = p.PA + (ic + ir) * lda + pc;
                if (mr == MR)
                {
                    float* s0 = s, s1 = s + lda, s2 = s + 2 * lda, s3 = s + 3 * lda, s4 = s + 4 * lda, s5 = s + 5 * lda;
                    int l = 0;
                    if (Avx.IsSupported)
                    {
                        // 8 columns at a time: load 6 row vectors, transpose into 8 groups of 6
                        for (; l + 8 <= kc; l += 8)
                        {
                            PackA6x8(s0 + l, s1 + l, s2 + l, s3 + l, s4 + l, s5 + l, d);
                            d += 48;
                        }
                    }
                    for (; l < kc; l++)
                    {
                        d[0] = s0[l]; d[1] = s1[l]; d[2] = s2[l]; d[3] = s3[l]; d[4] = s4[l]; d[5] = s5[l];
                        d += MR;
                    }
                }
                else
                {
                    for (int l = 0; l < kc; l++)
                    {
                        int r = 0;
                        for (; r < mr; r++) d[r] = s[r * lda + l];
                        for (; r < MR; r++) d[r] = 0f;
                        d += MR;
                    }
                }
            }
            else
            {
                // A stored k×m: element (i,l) at a[l*lda + i]; MR contiguous values per l
                float* s = p.PA + (nint)pc * lda + ic + ir;
                if (mr == MR)
                {
                    for (int l = 0; l < kc; l++)
                    {
                        float* sl = s + l * lda;
                        d[0] = sl[0]; d[1] = sl[1]; d[2] = sl[2]; d[3] = sl[3]; d[4] = sl[4]; d[5] = sl[5];
                        d += MR;
                    }
                }
                else
                {
                    for (int l = 0; l < kc; l++)
                    {
                        float* sl = s + l * lda;
                        int r = 0;
                        for (; r < mr; r++) d[r] = sl[r];
                        for (; r < MR; r++) d[r] = 0f;
                        d += MR;
                    }
                }
            }
        }
    }

    /// <summary>Transposes a 6×8 block (six rows of 8 floats) into 8 consecutive groups of 6 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackA6x8(float* r0, float* r1, float* r2, float* r3, float* r4, float* r5, float* d)
    {
        Vector256<float> v0 = Avx.LoadVector256(r0), v1 = Avx.LoadVector256(r1), v2 = Avx.LoadVector256(r2);
        Vector256<float> v3 = Avx.LoadVector256(r3), v4 = Avx.LoadVector256(r4), v5 = Avx.LoadVector256(r5);
        // 4×8 transpose of rows 0..3 -> for column l, (r0,r1,r2,r3)[l] as 128-bit quads
        Vector256<float> t0 = Avx.UnpackLow(v0, v1);   // a0 b0 a1 b1 | a4 b4 a5 b5
        Vector256<float> t1 = Avx.UnpackHigh(v0, v1);  // a2 b2 a3 b3 | a6 b6 a7 b7
        Vector256<float> t2 = Avx.UnpackLow(v2, v3);   // c0 d0 c1 d1 | c4 d4 c5 d5
        Vector256<float> t3 = Avx.UnpackHigh(v2, v3);  // c2 d2 c3 d3 | c6 d6 c7 d7
        Vector256<float> q0 = Avx.Shuffle(t0, t2, 0x44); // a0 b0 c0 d0 | a4 b4 c4 d4
        Vector256<float> q1 = Avx.Shuffle(t0, t2, 0xEE); // a1 b1 c1 d1 | a5 b5 c5 d5
        Vector256<float> q2 = Avx.Shuffle(t1, t3, 0x44); // a2 ... | a6 ...
        Vector256<float> q3 = Avx.Shuffle(t1, t3, 0xEE); // a3 ... | a7 ...
        Vector256<float> u0 = Avx.UnpackLow(v4, v5);   // e0 f0 e1 f1 | e4 f4 e5 f5
        Vector256<float> u1 = Avx.UnpackHigh(v4, v5);  // e2 f2 e3 f3 | e6 f6 e7 f7
        // column l -> d[6l .. 6l+6) = quad(l) ++ pair(l)
        Vector128<float> u0l = u0.GetLower(), u0h = u0.GetUpper(), u1l = u1.GetLower(), u1h = u1.GetUpper();
        Sse.Store(d + 0, q0.GetLower());
        Sse.StoreLow(d + 4, u0l);            // e0 f0
        Sse.Store(d + 6, q1.GetLower());
        Sse.StoreHigh(d + 10, u0l);          // e1 f1
        Sse.Store(d + 12, q2.GetLower());
        Sse.StoreLow(d + 16, u1l);           // e2 f2
        Sse.Store(d + 18, q3.GetLower());
        Sse.StoreHigh(d + 22, u1l);          // e3 f3
        Sse.Store(d + 24, q0.GetUpper());
        Sse.StoreLow(d + 28, u0h);           // e4 f4
        Sse.Store(d + 30, q1.GetUpper());
        Sse.StoreHigh(d + 34, u0h);          // e5 f5
        Sse.Store(d + 36, q2.GetUpper());
        Sse.StoreLow(d + 40, u1h);           // e6 f6
        Sse.Store(d + 42, q3.GetUpper());
        Sse.StoreHigh(d + 46, u1h);          // e7 f7
    }

    /// <summary>dst[c·dstStride + r] = src[r·srcStride + c] for an 8×8 block (AVX unpack/shuffle/permute).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride); var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride); var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride); var r7 = Avx.LoadVector256(src + 7 * srcStride);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// Packs op(B)[pc..pc+kc, jc..jc+nc) into NR-column micro-panels: panel j holds, for each l in
    /// [0,kc), the NR values op(B)[pc+l, jc+j*NR+0..NR) contiguously; columns past nc are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(in Problem p, int pc, int kc, int jc, int nc, float* dst)
    {
        nint ldb = p.Ldb;
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            float* d = dst + (nint)jr * kc;
            if (!p.TransB)
            {
                // B is k×n: row l of the panel is contiguous in memory
                float* s = p.PB + (nint)pc * ldb + jc + jr;
                if (nr == NR)
                {
                    if (Avx.IsSupported)
                    {
                        for (int l = 0; l < kc; l++)
                        {
                            float* sl = s + l * ldb;
                            Avx.StoreAligned(d, Avx.LoadVector256(sl));
                            Avx.StoreAligned(d + 8, Avx.LoadVector256(sl + 8));
                            d += NR;
                        }
                    }
                    else
                    {
                        for (int l = 0; l < kc; l++)
                        {
                            new ReadOnlySpan<float>(s + l * ldb, NR).CopyTo(new Span<float>(d, NR));
                            d += NR;
                        }
                    }
                }
                else
                {
                    for (int l = 0; l < kc; l++)
                    {
                        float* sl = s + l * ldb;
                        int j = 0;
                        for (; j < nr; j++) d[j] = sl[j];
                        for (; j < NR; j++) d[j] = 0f;
                        d += NR;
                    }
                }
            }
            else
            {
                // B stored n×k: element (l,j) at b[j*ldb + l]; read each source row contiguously
                float* s = p.PB + (jc + jr) * ldb + pc;
                if (nr == NR && Avx.IsSupported)
                {
                    // 8×8 register transposes: 8 rows of B (8 j's) × 8 l's become 8 panel rows at once.
                    int l8 = kc & ~7;
                    for (int jh = 0; jh < NR; jh += 8)
                        for (int l = 0; l < l8; l += 8)
                            Transpose8x8(s + jh * ldb + l, ldb, d + l * NR + jh, NR);
                    for (int j = 0; j < NR; j++)
                    {
                        float* sj = s + j * ldb;
                        float* dj = d + j;
                        for (int l = l8; l < kc; l++) dj[l * NR] = sj[l];
                    }
                    continue;
                }
                for (int j = 0; j < nr; j++)
                {
                    float* sj = s + j * ldb;
                    float* dj = d + j;
                    for (int l = 0; l < kc; l++) dj[l * NR] = sj[l];
                }
                for (int j = nr; j < NR; j++)
                {
                    float* dj = d + j;
                    for (int l = 0; l < kc; l++) dj[l * NR] = 0f;
                }
            }
        }
    }

    // ------------------------------------------------------------------ micro-kernels

    /// <summary>
    /// 6×16 register tile: C[6×16] = alpha * Apanel(6×kc) * Bpanel(kc×16) + beta * C, with twelve
    /// ymm accumulators, two B loads and six broadcasts per k step. beta = 0 does not read C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel6x16Fma(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c00 = Vector256<float>.Zero, c01 = Vector256<float>.Zero;
        Vector256<float> c10 = Vector256<float>.Zero, c11 = Vector256<float>.Zero;
        Vector256<float> c20 = Vector256<float>.Zero, c21 = Vector256<float>.Zero;
        Vector256<float> c30 = Vector256<float>.Zero, c31 = Vector256<float>.Zero;
        Vector256<float> c40 = Vector256<float>.Zero, c41 = Vector256<float>.Zero;
        Vector256<float> c50 = Vector256<float>.Zero, c51 = Vector256<float>.Zero;

        // Pull the C tile towards L1 now; it is only touched after the k loop (~6·kc cycles later).
        Sse.Prefetch0(c); Sse.Prefetch0(c + 15);
        Sse.Prefetch0(c + ldc); Sse.Prefetch0(c + ldc + 15);
        Sse.Prefetch0(c + 2 * ldc); Sse.Prefetch0(c + 2 * ldc + 15);
        Sse.Prefetch0(c + 3 * ldc); Sse.Prefetch0(c + 3 * ldc + 15);
        Sse.Prefetch0(c + 4 * ldc); Sse.Prefetch0(c + 4 * ldc + 15);
        Sse.Prefetch0(c + 5 * ldc); Sse.Prefetch0(c + 5 * ldc + 15);

        nint l = kc;
        for (; l >= 4; l -= 4)
        {
            Vector256<float> b0, b1, av;
            // k + 0
            b0 = Avx.LoadAlignedVector256(b); b1 = Avx.LoadAlignedVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0); c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1); c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2); c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3); c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4); c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5); c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);
            // k + 1
            b0 = Avx.LoadAlignedVector256(b + 16); b1 = Avx.LoadAlignedVector256(b + 24);
            av = Avx.BroadcastScalarToVector256(a + 6); c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 7); c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 8); c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 9); c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 10); c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 11); c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);
            // k + 2
            b0 = Avx.LoadAlignedVector256(b + 32); b1 = Avx.LoadAlignedVector256(b + 40);
            av = Avx.BroadcastScalarToVector256(a + 12); c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 13); c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 14); c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 15); c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 16); c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 17); c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);
            // k + 3
            b0 = Avx.LoadAlignedVector256(b + 48); b1 = Avx.LoadAlignedVector256(b + 56);
            av = Avx.BroadcastScalarToVector256(a + 18); c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 19); c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 20); c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 21); c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 22); c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 23); c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);
            a += 4 * MR; b += 4 * NR;
        }
        for (; l > 0; l--)
        {
            Vector256<float> b0 = Avx.LoadAlignedVector256(b), b1 = Avx.LoadAlignedVector256(b + 8), av;
            av = Avx.BroadcastScalarToVector256(a + 0); c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1); c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2); c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3); c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4); c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5); c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR; b += NR;
        }

        Vector256<float> va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Avx.Store(c, Avx.Multiply(c00, va)); Avx.Store(c + 8, Avx.Multiply(c01, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c10, va)); Avx.Store(c + 8, Avx.Multiply(c11, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c20, va)); Avx.Store(c + 8, Avx.Multiply(c21, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c30, va)); Avx.Store(c + 8, Avx.Multiply(c31, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c40, va)); Avx.Store(c + 8, Avx.Multiply(c41, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c50, va)); Avx.Store(c + 8, Avx.Multiply(c51, va));
        }
        else if (beta == 1f)
        {
            Avx.Store(c, Fma.MultiplyAdd(c00, va, Avx.LoadVector256(c))); Avx.Store(c + 8, Fma.MultiplyAdd(c01, va, Avx.LoadVector256(c + 8))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c10, va, Avx.LoadVector256(c))); Avx.Store(c + 8, Fma.MultiplyAdd(c11, va, Avx.LoadVector256(c + 8))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c20, va, Avx.LoadVector256(c))); Avx.Store(c + 8, Fma.MultiplyAdd(c21, va, Avx.LoadVector256(c + 8))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c30, va, Avx.LoadVector256(c))); Avx.Store(c + 8, Fma.MultiplyAdd(c31, va, Avx.LoadVector256(c + 8))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c40, va, Avx.LoadVector256(c))); Avx.Store(c + 8, Fma.MultiplyAdd(c41, va, Avx.LoadVector256(c + 8))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c50, va, Avx.LoadVector256(c))); Avx.Store(c + 8, Fma.MultiplyAdd(c51, va, Avx.LoadVector256(c + 8)));
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            Avx.Store(c, Fma.MultiplyAdd(c00, va, Avx.Multiply(vb, Avx.LoadVector256(c)))); Avx.Store(c + 8, Fma.MultiplyAdd(c01, va, Avx.Multiply(vb, Avx.LoadVector256(c + 8)))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c10, va, Avx.Multiply(vb, Avx.LoadVector256(c)))); Avx.Store(c + 8, Fma.MultiplyAdd(c11, va, Avx.Multiply(vb, Avx.LoadVector256(c + 8)))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c20, va, Avx.Multiply(vb, Avx.LoadVector256(c)))); Avx.Store(c + 8, Fma.MultiplyAdd(c21, va, Avx.Multiply(vb, Avx.LoadVector256(c + 8)))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c30, va, Avx.Multiply(vb, Avx.LoadVector256(c)))); Avx.Store(c + 8, Fma.MultiplyAdd(c31, va, Avx.Multiply(vb, Avx.LoadVector256(c + 8)))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c40, va, Avx.Multiply(vb, Avx.LoadVector256(c)))); Avx.Store(c + 8, Fma.MultiplyAdd(c41, va, Avx.Multiply(vb, Avx.LoadVector256(c + 8)))); c += ldc;
            Avx.Store(c, Fma.MultiplyAdd(c50, va, Avx.Multiply(vb, Avx.LoadVector256(c)))); Avx.Store(c + 8, Fma.MultiplyAdd(c51, va, Avx.Multiply(vb, Avx.LoadVector256(c + 8))));
        }
    }

    /// <summary>Portable micro-kernel (Vector128, hardware-accelerated on SSE and NEON); same contract as the FMA kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelPortable(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        // 6 rows × 4 Vector128 = 24 accumulators, kept in a stack array (the JIT cannot hold them all).
        Vector128<float>* acc = stackalloc Vector128<float>[MR * 4];
        for (int i = 0; i < MR * 4; i++) acc[i] = Vector128<float>.Zero;
        for (int l = 0; l < kc; l++)
        {
            Vector128<float> b0 = Vector128.Load(b), b1 = Vector128.Load(b + 4), b2 = Vector128.Load(b + 8), b3 = Vector128.Load(b + 12);
            for (int r = 0; r < MR; r++)
            {
                Vector128<float> av = Vector128.Create(a[r]);
                Vector128<float>* ar = acc + r * 4;
                ar[0] += av * b0; ar[1] += av * b1; ar[2] += av * b2; ar[3] += av * b3;
            }
            a += MR; b += NR;
        }
        Vector128<float> va = Vector128.Create(alpha), vb = Vector128.Create(beta);
        for (int r = 0; r < MR; r++)
        {
            float* cr = c + r * ldc;
            Vector128<float>* ar = acc + r * 4;
            for (int q = 0; q < 4; q++)
            {
                Vector128<float> v = ar[q] * va;
                if (beta != 0f) v += vb * Vector128.Load(cr + 4 * q);
                v.Store(cr + 4 * q);
            }
        }
    }
}
