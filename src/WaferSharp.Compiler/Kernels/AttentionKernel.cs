namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Fused attention softmax(Q·Kᵀ·scale [+ mask])·V for Batch = batch × heads problems of Tq × Tk with head width D
/// (<see cref="KernelWork.M"/> = Tq, <see cref="KernelWork.N"/> = Tk, <see cref="KernelWork.K"/> = D). Each problem runs on a
/// sub-grid: Q·Kᵀ as a transposed GEMM (dist-GEMM-T), the row softmax on the sub-grid, then P·V as a GEMM; the
/// scores never leave the sub-grid. Problems beyond the number of sub-grids run in rounds. No causal skipping.
/// </summary>
public sealed class AttentionKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Attention";
    /// <inheritdoc/>
    public override int MaxColors => 8;

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        long tq = Math.Max(1, work.M), tk = Math.Max(1, work.N), d = Math.Max(1, work.K);
        var c = GemmKernel.Batched(Math.Max(1, work.Batch), gw, gh, p, (bw, bh) =>
        {
            var qk = GemmKernel.Single(tq, tk, d, bw, bh, p);
            var sm = SoftmaxKernel.RowOp(new KernelWork { Rows = tq, RowLength = tk, Flops = 6.0 * tq * tk, RowReductions = 2 }, bw, bh, p, "");
            var pv = GemmKernel.Single(tq, d, tk, bw, bh, p);
            return new KernelCost(qk.Cycles + sm.Cycles + pv.Cycles, qk.ComputeCycles + sm.ComputeCycles + pv.ComputeCycles,
                qk.CommCycles + sm.CommCycles + pv.CommCycles, qk.FixedCycles + sm.FixedCycles + pv.FixedCycles,
                Math.Max(qk.SramBytesPerPe, pv.SramBytesPerPe) + sm.SramBytesPerPe, "", bw, bh, 8,
                $"qk:{qk.Algorithm} pv:{pv.Algorithm} scores/PE={Div(tq, bh) * Div(tk, bw)}");
        });
        return c with { Algorithm = "fused-attention-gemmT-softmax-gemm" };
    }
}
