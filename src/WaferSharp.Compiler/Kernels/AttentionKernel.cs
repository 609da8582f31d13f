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

    // ---------------------------------------------------------------- the fused program (Fabric's AttentionProgram)

    /// <summary>
    /// Plans the fused FlashAttention-style program the fabric simulator runs (WaferSharp.Fabric.Kernels.AttentionProgram)
    /// for <paramref name="heads"/> heads of Tq × Tk with head width <paramref name="d"/> on a gw × gh grid: tries every
    /// tiling of the grid into gx × gy head sub-grids and keeps the fastest whose working set fits a PE.
    /// <para>
    /// Per head on a w × h sub-grid: PE row y holds qb = ⌈Tq/h⌉ query rows (causal: two zig-zag sub-blocks, rows of
    /// blocks y and 2h − 1 − y, so the unmasked work is balanced); every PE owns one K block (stored transposed, d × kb)
    /// and one V block (kb × d), kb = ⌈Tk/(w·h)⌉. The center PE of each row multicasts Q along the row; then in h steps
    /// the [Kᵀ | V] blocks rotate one position per step around each column on MeshGEMM's interleaved ring (2·kb·d words
    /// through each ramp, ≤ 2 hops, double buffered) while each PE folds the block it holds into its running max m, sum l
    /// and output O (online softmax: S = Q·Kᵀ, m' = max(m, rowmax S), P = exp(S − m'), l = l·e^(m − m') + rowsum P,
    /// O = O·e^(m − m') + P·V); padding and fully masked blocks are skipped. Finally each row all-reduces m (max),
    /// rescales l and O, reduces [l, O] to its center (sum), and the center writes O / l.
    /// </para>
    /// Cycles = rounds · (prologue + ring phase + merge): every vector instruction is counted as the simulator issues it
    /// (issue + max(SIMD passes, SRAM read, SRAM write)); the ring phase is a recurrence over rows and steps — a row's
    /// step starts when its previous fold is done and its shift has moved, which waits for the ring predecessor's send
    /// and, past what the route buffers hold, the successor's receive — so masked and padding blocks and the neighbour
    /// coupling they cause are priced per row. Calibrated on the fabric simulator (docs/FIDELITY.md).
    /// </summary>
    public static AttentionPlan PlanFused(long heads, long tq, long tk, long d, bool causal, int gw, int gh, CostParams p)
    {
        heads = Math.Max(1, heads);
        AttentionPlan best = default, bestAny = default;
        bool found = false, any = false;
        long sram = p.Spec.PeSramBytes;
        for (int gx = 1; gx <= Math.Min(gw, heads); gx++)
            for (int gy = 1; gy <= Math.Min(gh, Div(heads, gx)); gy++)
            {
                var c = FusedOn(heads, tq, tk, d, causal, gw / gx, gh / gy, gx * gy, p);
                if (!any || c.Cycles < bestAny.Cycles) { bestAny = c; any = true; }
                if (c.SramBytesPerPe <= sram && (!found || c.Cycles < best.Cycles)) { best = c; found = true; }
            }
        return found ? best : bestAny;
    }

    /// <summary>The fused program's cost with heads on <paramref name="subGrids"/> sub-grids of w × h (see <see cref="PlanFused"/>).</summary>
    public static AttentionPlan FusedOn(long heads, long tq, long tk, long d, bool causal, int w, int h, int subGrids, CostParams p)
    {
        heads = Math.Max(1, heads); tq = Math.Max(1, tq); tk = Math.Max(1, tk); d = Math.Max(1, d);
        long rounds = Div(heads, subGrids);
        int nsub = causal ? 2 : 1;
        long qs = Div(tq, (long)nsub * h), qb = nsub * qs;
        long kb = Div(tk, (long)w * h);
        int eb = 4; // the program computes in float32
        long sramPerHead = (2 * qb * d + 2 * kb * d) * eb;
        long working = (qb * d + 4 * kb * d + qs * kb + 5 * qb + qb * (d + 1)) * eb;
        long sramBytes = rounds * sramPerHead + working;

        // one vector instruction over n elements: issue + max(SIMD passes, read port, write port)
        double V(long n, int reads, bool writes, bool transcendental = false) => p.IssueCycles + Math.Max(
            Math.Ceiling((double)n / p.Lanes) * (transcendental ? p.TranscendentalPasses : 1),
            Math.Max(Math.Ceiling((double)reads * n * eb / p.SramReadBytesPerCycle), writes ? Math.Ceiling((double)n * eb / p.SramWriteBytesPerCycle) : 0));
        double Gemm(long m, long k, long n) => p.IssueCycles + Math.Ceiling((double)m * k * n / p.Lanes);

        // one sub-block's fold of one key block
        double sub = V(qs * kb, 0, true) + Gemm(qs, d, kb)                          // S = 0; S += Q·Kᵀ
            + V(qs, 1, true) + qs * V(kb, 1, false)                                   // m' = max(m, rowmax S)
            + V(qs, 2, true) + V(qs, 1, true, true) + V(qs, 2, true)                  // α = exp(m − m'); l ·= α
            + qs * (V(kb, 1, true) + V(kb, 1, true, true) + V(kb, 1, false) + V(d, 1, true)) // P = exp(S − m'); l += rowsum P; O ·= α
            + Gemm(qs, kb, d) + V(qs, 1, true);                                        // O += P·V; m = m'
        double mask = causal ? qs * V(kb / 2 + 1, 0, true) : 0;                      // the diagonal block's masked tails
        // a step starts in the second of the two tasks its shift's completions run (send, receive), then posts the next shift
        double stepFixed = (h > 1 ? 2 : 1) * p.TaskStartCycles + 2 * p.IssueCycles;
        // one ring shift of the [Kᵀ | V] block (≤ 2 hops), as MeshGEMM's
        double comm = h > 1 ? 2.0 * kb * d + 2 * p.Alpha + 2 * p.TaskStartCycles : 0;

        // each PE row folds the blocks that pass it on the ring (column 0 holds the earliest keys of each block row, so
        // the most unmasked work); a row's step s starts when its step s − 1 is folded and the ring shift it posted then
        // has moved, which needs both ring neighbours to have posted theirs: a recurrence over rows and steps
        long off = tk - tq;
        // a sender runs ahead of a late receiver by what the route's buffers hold: a 4-deep input buffer per router on
        // the 1- or 2-hop path and the receiver's 4-deep compute-engine queue (FabricOptions.BufferDepth)
        var start = new double[h];
        var next = new double[h];
        var work = new double[h];
        for (int s = 0; s < h; s++)
        {
            for (int y = 0; y < h; y++)
            {
                long k0 = (long)RingPhys((RingLogical(y, h) + s) % h, h) * w * kb;
                int n = 0; bool dg = false;
                if (k0 < tk)
                    for (int b = 0; b < nsub; b++)
                    {
                        long g0 = causal ? (b == 0 ? y : 2L * h - 1 - y) * qs : (long)y * qb;
                        if (causal && k0 > g0 + qs - 1 + off) continue;
                        n++;
                        if (causal && k0 + kb - 1 > g0 + off) dg = true;
                    }
                work[y] = stepFixed + n * sub + (dg ? mask : 0);
            }
            if (s == h - 1) break;
            for (int y = 0; y < h; y++)
            {
                int k = RingLogical(y, h);
                int src = RingPhys((k + 1) % h, h), dst = RingPhys((k - 1 + h) % h, h);
                double t = Math.Max(start[y] + work[y], Math.Max(start[y], start[src]) + comm);
                // the send finishes once the block fits the route's buffers behind a receiver that has not posted yet
                double buffered = Math.Min(2.0 * kb * d, 4.0 * (Math.Abs(dst - y) + 2));
                t = Math.Max(t, start[dst] + comm - buffered);
                next[y] = t;
            }
            (start, next) = (next, start);
        }
        double steps = 0;
        for (int y = 0; y < h; y++) steps = Math.Max(steps, start[y] + work[y]);

        // prologue: state cleared, the center copies and sends Q along the row, every PE scales its copy (step 0 folds the resident block)
        double init = p.TaskStartCycles + V(qb, 0, true) + V(qb * (d + 1), 0, true);
        double qIn = w > 1 ? qb * d + p.Alpha * (w / 2) + p.TaskStartCycles + 2 : 0;
        double first = qIn + V(qb * d, 1, true);
        double prologue = init + V(qb * d, 1, true) + first;

        // merge: all-reduce m along the row, rescale, reduce [l, O] to the center, normalise
        double merge = w > 1
            ? V(qb, 1, true) + AllReduce(w, qb * (double)eb, p) + p.TaskStartCycles + 2 * V(qb, 2, true) + V(qb, 1, true, true) + qb * V(d, 1, true)
              + LineReduce(w, qb * (d + 1), p, broadcast: false)
            : 0;
        double normalise = p.TaskStartCycles + V(qb, 1, true, true) + qb * V(d, 1, true);
        double head = prologue + steps + merge + normalise;
        double total = rounds * head + p.KernelOverheadCycles;
        return new AttentionPlan(w, h, subGrids, rounds, (int)qb, nsub, (int)qs, (int)kb, sramBytes, total);
    }

    // MeshGEMM's interleaved ring on a line of n PEs (position of ring index k, and back)
    private static int RingPhys(int k, int n) => k < (n + 1) / 2 ? 2 * k : 2 * (n - 1 - k) + 1;
    private static int RingLogical(int x, int n) => x % 2 == 0 ? x / 2 : n - 1 - (x - 1) / 2;

    /// <summary>The fused program's cost as a <see cref="KernelCost"/> on a gw × gh grid (see <see cref="PlanFused"/>).</summary>
    public static KernelCost Fused(in KernelWork work, bool causal, int gw, int gh, CostParams p)
    {
        var a = PlanFused(work.Batch, work.M, work.N, work.K, causal, gw, gh, p);
        double flops = 4.0 * Math.Max(1, work.Batch) * work.M * work.N * work.K * (causal ? 0.5 : 1);
        double compute = flops / 2 / ((double)gw * gh * p.Lanes);
        return new KernelCost(a.Cycles, compute, Math.Max(0, a.Cycles - compute), p.KernelOverheadCycles, a.SramBytesPerPe,
            "fused-attention-online-softmax", gw, gh, 20, $"{a.SubGrids}x[{a.SubW}x{a.SubH}] sub-grids, {a.Rounds} rounds; q/PE={a.RowsPerPe} kb={a.KeysPerBlock}");
    }
}

/// <summary>
/// How the fused (FlashAttention-style) mesh program lays attention out, and the compiler's prediction for it; see
/// <see cref="AttentionKernel.PlanFused"/>.
/// </summary>
/// <param name="SubW">Sub-grid width per head (key blocks spread over its columns; rows merge across it).</param>
/// <param name="SubH">Sub-grid height per head (query rows spread over its rows; K/V blocks stream down its columns in SubH steps).</param>
/// <param name="SubGrids">Sub-grids running heads concurrently.</param>
/// <param name="Rounds">Heads each sub-grid runs one after another.</param>
/// <param name="RowsPerPe">Query rows per PE row (qb).</param>
/// <param name="SubBlocks">Query sub-blocks per PE row: 2 with the causal mask (zig-zag), else 1.</param>
/// <param name="RowsPerSubBlock">Rows per sub-block (qb / SubBlocks).</param>
/// <param name="KeysPerBlock">Keys per block, kb = ⌈Tk / (SubW·SubH)⌉: every PE owns one K and one V block per head.</param>
/// <param name="SramBytesPerPe">SRAM per PE: resident Q/K/V/output of the sub-grid's heads and the working buffers.</param>
/// <param name="Cycles">Predicted cycles.</param>
public readonly record struct AttentionPlan(int SubW, int SubH, int SubGrids, long Rounds, int RowsPerPe, int SubBlocks, int RowsPerSubBlock,
    int KeysPerBlock, long SramBytesPerPe, double Cycles);
