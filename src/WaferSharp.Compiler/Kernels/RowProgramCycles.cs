namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// The cycles of the backward row programs and the causal mask on the busiest PE of the row layout
/// (<see cref="RowLayout"/>), counted the way the fabric programs run them: per row, one vector instruction per SRAM
/// pass (each ⌈lp · pass⌉ cycles plus issue); per statistics instruction a pass over the rp per-row values; one row
/// all-reduce per statistics vector (the values per row it carries), one task switch per task. LayerNormGrad and
/// RMSNormGrad with γ start the dγ/dβ column reduce when their last row pass ends; it overlaps the last all-reduce
/// and the dx pass but its stream through each PE (one add per value) takes the PE's cycles too, so the kernel ends at the
/// later of the dx pass plus the column vector and the column chain. The launch is the first task switch (no separate
/// kernel overhead: every task switch is counted). Calibrated on the fabric simulator (docs/FIDELITY.md).
/// </summary>
internal static class RowProgramCycles
{
    /// <summary>The cycles of <paramref name="work"/>'s <see cref="KernelWork.RowOp"/> on a gw × gh grid.</summary>
    public static KernelCost Of(in KernelWork work, int gw, int gh, CostParams p)
    {
        var (rp, lp, _, fix) = RowLayout.Of(work.Rows, work.RowLength, gw, gh, p, 4);
        double r1 = p.PassCycles(1, false), r2 = p.PassCycles(2, false), w1 = p.PassCycles(1, true), w2 = p.PassCycles(2, true);
        double w0 = p.PassCycles(0, true), tr = p.TranscendentalCycles;
        double Rows(double pass, int instructions) => rp * (Math.Ceiling(lp * pass) + instructions * p.IssueCycles);
        // a statistics instruction over k·rp values (k statistics per row) at pass cycles per value; a transcendental
        // (divide, rsqrt) runs its passes over whole SIMD words, which matters when a PE holds a row or two
        double Stat(double pass, int k = 1) => (pass == tr
            ? Math.Max(Math.Ceiling(k * rp / (double)p.Lanes) * p.TranscendentalPasses, Math.Ceiling(k * rp * w1))
            : Math.Ceiling(k * rp * pass)) + p.IssueCycles;
        long rows = work.Rows;
        double Reduce(int values) => RowLayout.ReduceCycles(rows, gw, gh, values, p, 4) + p.TaskStartCycles;
        double Tasks(int n) => n * p.TaskStartCycles;
        double total, compute, comm;
        int reductions;
        string algo;
        switch (work.RowOp)
        {
            case RowOp.SoftmaxGrad:
                // dot: Σ g·y (two reads); dx: g − dot, · y
                compute = Rows(r2 + w1 + w2, 3);
                comm = Reduce(1);
                total = compute + Stat(w0) + comm + Tasks(2);
                reductions = 1; algo = "row-softmax-grad-1reduce";
                break;
            case RowOp.LogSoftmaxGrad:
                // sum: Σ g; dx: exp(y), · (−sum), + g
                compute = Rows(r1 + tr + w1 + w2, 4);
                comm = Reduce(1);
                total = compute + Stat(w0) + Stat(w1) + comm + Tasks(2);
                reductions = 1; algo = "row-logsoftmax-grad-1reduce";
                break;
            case RowOp.LayerNormGrad:
            {
                bool affine = work.Affine;
                // sum; centre, Σ x²; ĝ = g·γ (or a copy), x̂, Σ ĝ, Σ ĝ·x̂ [, dγ += g·x̂ (three reads), dβ += g]; dx: four rewrites
                double head = Rows(r1, 1) + Rows(w1 + r2, 2) + Rows(w2 + w1 + r1 + r2 + (affine ? p.PassCycles(3, true) + w2 : 0), affine ? 6 : 4);
                double tail = Rows(4 * w1, 4);
                double stats = Stat(w0) + Stat(tr) + Stat(w0) + Stat(tr) + Stat(w1) + Stat(tr) + Stat(w0, 2) + Stat(tr, 2);
                double r12 = Reduce(1) + Reduce(1), r3 = Reduce(2);
                double headTime = head + r12 + stats - Stat(tr, 2) + Tasks(3);
                double tailTime = r3 + Stat(tr, 2) + tail + Tasks(1);
                compute = head + tail; comm = r12 + r3;
                total = headTime + (affine ? Math.Max(tailTime + 2 * lp, ColumnReduce(gh, 2 * lp, p)) : tailTime);
                reductions = 3; algo = "row-layernorm-grad-3reduce";
                break;
            }
            case RowOp.RMSNormGrad:
            {
                // Σ x²; ĝ = g·γ, Σ ĝ·x, g·x, dγ += (g·x)·r; dx: ĝ·r, x·c, sum
                double head = Rows(r2, 1) + Rows(4 * w2, 4);
                double tail = Rows(3 * w2, 3);
                double headStats = Stat(w0) + Stat(tr) + Stat(w1) + Stat(tr) + Stat(w0, 2);
                double tailStats = Stat(tr, 2) + 4 * Stat(w2);
                double r1r = Reduce(1), r2r = Reduce(1);
                double headTime = head + r1r + headStats + Tasks(2);
                double tailTime = r2r + tailStats + tail + Tasks(1);
                compute = head + tail; comm = r1r + r2r;
                total = headTime + Math.Max(tailTime + lp, ColumnReduce(gh, lp, p));
                reductions = 2; algo = "row-rmsnorm-grad-2reduce";
                break;
            }
            case RowOp.CausalMask:
                compute = Mask(work, rp, lp, p);
                comm = 0; reductions = 0;
                total = compute + Tasks(1);
                algo = "row-causal-mask";
                break;
            default:
                throw new ArgumentException($"row op {work.RowOp} has no backward row formula");
        }
        long buf = (long)((double)rp * lp) * p.ElementBytes * Tensors(work) + rp * 16;
        return new KernelCost(total, compute, comm, reductions * fix + p.KernelOverheadCycles, buf, algo, gw, gh, reductions > 0 ? 4 : 2,
            $"rows/PE={rp} elems/PE={lp}");
    }

    /// <summary>Row tensors a program keeps per PE (the inputs and its scratch).</summary>
    private static int Tensors(in KernelWork work) => work.RowOp switch
    {
        RowOp.SoftmaxGrad or RowOp.LogSoftmaxGrad => 2,
        RowOp.LayerNormGrad or RowOp.RMSNormGrad => 3,
        _ => 1,
    };

    /// <summary>
    /// A pipelined chain down gh PEs of <paramref name="words"/> values per PE (the dγ/dβ partial sums): one chain stage
    /// per PE, then the vector streams through at one wavelet per cycle.
    /// </summary>
    public static double ColumnReduce(int gh, long words, CostParams p) =>
        gh <= 1 ? p.TaskStartCycles : (gh - 1) * p.ChainStageCycles + words + p.IssueCycles + p.TaskStartCycles;

    /// <summary>
    /// The causal mask on its busiest PE: the first PE row (queries from 0, the most masked) in the last PE column
    /// (the most masked elements), one fill instruction per row with masked elements, write-bound.
    /// </summary>
    private static double Mask(in KernelWork work, long rp, long lp, CostParams p)
    {
        long L = Math.Max(1, work.RowLength), tq = Math.Max(1, work.MaskQueries), off = work.MaskOffset;
        long c0 = Math.Max(0, L - lp);
        double pass = p.PassCycles(0, true);
        // Σ over queries 0…n−1 of (cycles, instructions): full rows (q + off + 1 ≤ c0) fill lp, the diagonal rows fewer
        (double Cycles, double Rows) Sum(long n)
        {
            if (n <= 0) return (0, 0);
            long full = Math.Clamp(c0 - off, 0, n);                   // q < c0 − off
            long lastMasked = Math.Clamp(L - off - 1, 0, n);           // q < L − off − 1 masks something
            long diag = Math.Max(0, lastMasked - full);
            // the diagonal rows mask m = L − q − off − 1 elements for q = full … lastMasked − 1
            double mHi = L - full - off - 1, mLo = L - (lastMasked - 1) - off - 1;
            double diagCycles = diag * ((mHi + mLo) / 2 * pass + (1 - Math.Min(1, pass)) / 2);
            return (full * Math.Ceiling(lp * pass) + diagCycles, full + diag);
        }
        long periods = rp / tq, rem = rp % tq;
        var (pc, pr) = Sum(Math.Min(tq, rp));
        var (rc, rr) = Sum(rem);
        double cycles = periods > 0 ? periods * pc + rc : pc;
        double rows = periods > 0 ? periods * pr + rr : pr;
        return Math.Ceiling(cycles) + rows * p.IssueCycles;
    }
}
