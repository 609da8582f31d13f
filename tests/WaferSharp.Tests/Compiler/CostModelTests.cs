using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Hardware;

namespace WaferSharp.Tests.Compiler;

/// <summary>Hand-derived examples for each kernel's cost model (bf16 on a WSE-3-like PE: S = 8, α = 1, β = 12, 4 B/link/cycle, SRAM 16 B read / 8 B write per cycle, launch 4, task start 3, issue 1, chain stage 3, GEMM step overhead 4; constants calibrated on the fabric simulator).</summary>
public class CostModelTests
{
    private static readonly CostParams P = new(WaferSpec.Mesh(64, 64), Precision.Bf16);

    [Fact]
    public void GemmSummaAndMeshGemm()
    {
        // M = N = K = 256 on 4×4: Mt = Nt = 64, P = 4 steps, Kt = 64; compute/step = 64·64·64/8 + 4 = 32772;
        // SUMMA panels through the ramp, one element per wavelet: 4096 + 4096 = 8192 words per step
        var s = GemmKernel.Summa(256, 256, 256, 4, 4, P);
        Assert.Equal(3 + 8192 + 4 * 32772 + 4, s.Cycles);            // FMAC-bound: α(max(w,h)−1) + first panels + steps·compute + launch
        // MeshGEMM: shift = 4096 + 4096 words + 2α + task 3 + 2 issues + 2 = 8201; skew P − 1 = 3 shifts; 3 overlapped steps + the last FMAC loop
        var g = GemmKernel.MeshGemm(256, 256, 256, 4, 4, P);
        Assert.Equal(3 * 8201 + 3 * 32772 + 32772 + 4, g.Cycles);
        Assert.Equal("summa-multicast", GemmKernel.Single(256, 256, 256, 4, 4, P).Algorithm);
        // small tiles on many PEs: the multicast's step (32 words + β = 44) is about the shift's (32 + 9 = 41), and the
        // shift also pays P − 1 = 15 skew rounds, so SUMMA wins (both models calibrated on the fabric simulator)
        var c = GemmKernel.Single(64, 64, 64, 16, 16, P);
        Assert.Equal("summa-multicast", c.Algorithm);
        Assert.Equal(15 * 41 + 15 * 41 + 12 + 4, GemmKernel.MeshGemm(64, 64, 64, 16, 16, P).Cycles);
    }

    [Fact]
    public void Gemv()
    {
        // y[1×1024] = x·W[1024×1024] on 8×8: Kt = Nt = 128; x words 128 + bcast 7α + 2 + task 3; local 128·128/8 + issue = 2049;
        // chain reduce of 128 words over 8 to the center: 3·4 + 2·128 + task 3 = 271
        var c = KernelLibrary.Gemv.Raw(new KernelWork { M = 1, N = 1024, K = 1024, SharedB = true, Batch = 1 }, 8, 8, P);
        Assert.Equal(128 + 12 + 2049 + 271 + 4, c.Cycles);
    }

    [Fact]
    public void ElementwiseIsBoundBySramOrCompute()
    {
        // 1e6 elements on 10×10: e = 10,000; one instruction, a pass of max(1/8, 2·2 B/16, 2 B/8) = 0.25 cycles per element = 2500;
        // reads 40,000 B / 16 = 2500; writes 20,000 B / 8 = 2500; + issue 1 + launch 4
        var w = new KernelWork { Elements = 1_000_000, Flops = 1_000_000, BytesRead = 4_000_000, BytesWritten = 2_000_000 };
        Assert.Equal(2505, KernelLibrary.Elementwise.Raw(w, 10, 10, P).Cycles);
    }

    [Fact]
    public void SoftmaxNormReductionAndAllReduce()
    {
        // 8 B (2 words) over 16 PEs: chains 3·8 + 2·2 + task 3, multicast back 8α + 2 + 2 + task 3
        Assert.Equal(24 + 4 + 3 + 8 + 2 + 2 + 3, MeshKernel.AllReduce(16, 8, P));
        // softmax 64 rows × 1024 on 8×8: 8 rows × 128 elems per PE; passes/element 2·0.125 + 2·0.25 + exp 1 = 1.75:
        // 8·(224 + 5 instructions) = 1832; 2 all-reduces of 8 words over 8 = 12 + 16 + 3 + 4 + 8 + 2 + 3 = 48;
        // statistics 2·(8 + 2 + 3) = 26; three task starts 9; launch 4
        var w = new KernelWork { Rows = 64, RowLength = 1024, Flops = 5 * 64 * 1024, RowReductions = 2 };
        Assert.Equal(1832 + 2 * 48 + 26 + 9 + 4, KernelLibrary.Softmax.Raw(w, 8, 8, P).Cycles);
        // layernorm: passes 0.125 + 0.25 + 4·0.25 = 1.375 → 8·(176 + 6) = 1456
        Assert.Equal(1456 + 2 * 48 + 26 + 9 + 4, KernelLibrary.Norm.Raw(w, 8, 8, P).Cycles);
        // sum 64 rows × 1024: local max(1024/8, 1024·2/16) = 128; one all-reduce 48
        var r = new KernelWork { Rows = 64, RowLength = 1024 };
        Assert.Equal(128 + 48 + 4, KernelLibrary.Reduction.Raw(r, 8, 8, P).Cycles);
    }

    [Fact]
    public void OptimizerEmbeddingLayoutAttention()
    {
        // Adam on 1e6 fp32 values over 100 PEs: e = 10,000; 12 instructions: 10 fp32 passes of max(1/4, 8/16, 4/8) = 0.5
        // and sqrt + divide at 8/4 = 2 cycles per element → 9·e = 90,000; + 12 issue + launch 4
        var adam = new KernelWork { Elements = 1_000_000, Flops = 12e6, BytesRead = 16_000_000, BytesWritten = 12_000_000 };
        Assert.Equal(90_000 + 12 + 4, KernelLibrary.OptimizerUpdate.Raw(adam, 10, 10, P).Cycles);
        // gather 1024 rows × 768 bf16 on 16×16: ids α·30 + 1024·4/4 = 1054; rows 1,572,864 B over 2·16 links·4 B = 12,288
        var emb = new KernelWork { Rows = 1024, RowLength = 768, TableRows = 50257 };
        Assert.Equal(1054 + 12288 + 4, KernelLibrary.Embedding.Raw(emb, 16, 16, P).Cycles);
        // transpose of 1 MiB on 16×16: 2^20 / (2·16·4) = 8192 + α·30
        var tr = new KernelWork { Elements = 1 << 19, BytesRead = 1 << 20, BytesWritten = 1 << 20, Transpose = true };
        Assert.Equal(8192 + 30 + 4, KernelLibrary.Layout.Raw(tr, 16, 16, P).Cycles);
        // attention of one head on 4×4 = QKᵀ GEMM + softmax + PV GEMM on the same grid
        var att = KernelLibrary.Attention.Raw(new KernelWork { Batch = 1, M = 256, N = 256, K = 64 }, 4, 4, P);
        double qk = GemmKernel.Single(256, 256, 64, 4, 4, P).Cycles, pv = GemmKernel.Single(256, 64, 256, 4, 4, P).Cycles;
        double sm = KernelLibrary.Softmax.Raw(new KernelWork { Rows = 256, RowLength = 256, Flops = 6.0 * 256 * 256, RowReductions = 2 }, 4, 4, P).Cycles;
        Assert.Equal(qk + sm + pv, att.Cycles);
    }

    [Fact]
    public void MorePesNeverMakeAKernelSlower()
    {
        var rng = new Random(42);
        var works = new (MeshKernel, KernelWork)[]
        {
            (KernelLibrary.Gemm, new KernelWork { M = 2048, N = 1024, K = 4096, SharedB = true, Batch = 1 }),
            (KernelLibrary.Gemm, new KernelWork { M = 128, N = 128, K = 64, Batch = 24 }),
            (KernelLibrary.Gemv, new KernelWork { M = 1, N = 4096, K = 4096, SharedB = true, Batch = 1 }),
            (KernelLibrary.Elementwise, new KernelWork { Elements = 1 << 22, Flops = 1 << 24, BytesRead = 1 << 24, BytesWritten = 1 << 23 }),
            (KernelLibrary.Softmax, new KernelWork { Rows = 4096, RowLength = 1024, Flops = 5 << 22, RowReductions = 2 }),
            (KernelLibrary.Attention, new KernelWork { Batch = 12, M = 512, N = 512, K = 64 }),
            (KernelLibrary.Reduction, new KernelWork { Rows = 1, RowLength = 1 << 20 }),
        };
        foreach (var (k, w) in works)
            for (int i = 0; i < 12; i++)
            {
                int a = rng.Next(1, 40), b = rng.Next(1, 40);
                int a2 = a + rng.Next(0, 40), b2 = b + rng.Next(0, 40);
                var small = k.Estimate(w, a, b, P);
                var big = k.Estimate(w, a2, b2, P);
                Assert.True(big.Cycles <= small.Cycles, $"{k.Name}: {a2}x{b2} ({big.Cycles}) slower than {a}x{b} ({small.Cycles})");
                Assert.True(small.GridW <= a && small.GridH <= b);
            }
        // and a compute-bound GEMM really speeds up
        var g = works[0].Item2;
        Assert.True(KernelLibrary.Gemm.Estimate(g, 32, 32, P).Cycles < 0.5 * KernelLibrary.Gemm.Estimate(g, 8, 8, P).Cycles);
    }
}
