using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Tensors;

namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Fused scaled dot-product attention O = softmax(Q·Kᵀ·scale [+ causal mask])·V of one head on a w × h sub-grid,
/// FlashAttention-style: the scores are never stored whole, each PE keeps a running max m, sum l and output O for its
/// query rows and folds one key block at a time into them (online softmax).
/// <list type="bullet">
/// <item>Layout: PE row y holds qb query rows (causal: two zig-zag sub-blocks, global blocks y and 2h − 1 − y, so every
/// row has the same unmasked work); the center PE of the row owns them and multicasts them along the row (color 17).
/// Every PE owns one key block j = y·w + x of kb keys: Kᵀ (d × kb, the layout dist-GEMM-T reads, no transpose on the
/// fabric) and V (kb × d).</item>
/// <item>Steps s = 0…h − 1: the [Kᵀ | V] blocks rotate one position per step around each column on MeshGEMM's
/// interleaved ring (static routes, every edge ≤ 2 hops, colors 18–23; double buffered: the next block streams in while
/// the PE folds the one it holds). Each PE computes S = Q·Kᵀ (scale is folded into Q), masks the tails of padding and
/// diagonal blocks, and updates m' = max(m, rowmax S), P = exp(S − m'), l = l·e^(m−m') + rowsum P, O = O·e^(m−m') + P·V.
/// Padding blocks and sub-blocks a block fully masks are skipped.</item>
/// <item>Merge: the row all-reduces m (max, <see cref="CenterAllReduce"/> on colors 0–8), every PE rescales its l and O by
/// e^(m_local − m), the row reduces [l, O] to its center (sum, colors 9–16), which writes O / l.</item>
/// </list>
/// Heads beyond the concurrent sub-grids run one after another on the same sub-grid (all heads' inputs are resident).
/// Masked scores are −1e30 rather than −∞, so a row with no visible key in a PE's blocks stays finite and is weighted 0
/// by the merge.
/// </summary>
public sealed class AttentionProgram : PeProgram
{
    private const int CMax = 0, CSum = 9, CQ = 17, CRing = 18;
    private const int TStart = 0, TQ = 1, TSend = 2, TRecv = 3, TMax = 4, TSum = 5, TQSend = 6;
    private const float Masked = -1e30f;

    private readonly int _w, _h, _nh, _qb, _qs, _nsub, _kb, _d, _tq, _tk;
    private readonly bool _causal;
    private readonly float _scale;
    private readonly CenterAllReduce _max, _sum;
    // working buffers (bytes), then per head: resident Q (center PEs), Kᵀ, V, output (center PEs)
    private readonly int _qbuf, _kvbuf, _s, _m, _mnew, _mloc, _alpha, _inv, _lo, _res0, _headBytes;
    private readonly int[] _head, _commStep, _commDone, _qPending;
    private readonly bool[] _qReady, _waitQ;

    /// <summary>
    /// The program for <paramref name="heads"/> heads run one after another on a w × h sub-grid, with the layout of
    /// <paramref name="plan"/> (from <see cref="AttentionKernel.PlanFused"/>).
    /// </summary>
    public AttentionProgram(AttentionPlan plan, int heads, int tq, int tk, int d, bool causal, float scale)
    {
        _w = plan.SubW; _h = plan.SubH; _nh = heads; _qb = plan.RowsPerPe; _qs = plan.RowsPerSubBlock; _nsub = plan.SubBlocks; _kb = plan.KeysPerBlock;
        _d = d; _tq = tq; _tk = tk; _causal = causal; _scale = scale;
        int a = 0;
        int Next(int floats) { int at = a; a += (floats * 4 + 15) & ~15; return at; }
        _qbuf = Next(_qb * d); _kvbuf = Next(4 * d * _kb); _s = Next(_qs * _kb);
        _m = Next(_qb); _mnew = Next(_qb); _mloc = Next(_qb); _alpha = Next(_qb); _inv = Next(_qb);
        _lo = Next(_qb + _qb * d); // l, then O: one contiguous vector for the sum reduce
        _res0 = a;
        _headBytes = ((2 * _qb * d + 2 * _kb * d) * 4 + 15) & ~15;
        SramBytes = _res0 + heads * _headBytes;
        int n = _w * _h;
        _head = new int[n]; _commStep = new int[n]; _commDone = new int[n]; _qPending = new int[n];
        _qReady = new bool[n]; _waitQ = new bool[n];
        _max = new CenterAllReduce(this, CMax, 8, rowsOnly: true);
        _sum = new CenterAllReduce(this, CSum, 11, rowsOnly: true, broadcast: false);
        BindLocalTask(TStart, StartHead, "start");
        BindLocalTask(TQ, QArrived, "recvQ");
        BindLocalTask(TSend, CommArrived, "sendKV");
        BindLocalTask(TRecv, CommArrived, "recvKV");
        BindLocalTask(TMax, Rescale, "rescale");
        BindLocalTask(TSum, Finish, "normalise");
        BindLocalTask(TQSend, pe => { int i = Id(pe); _qPending[i]--; if (_waitQ[i]) { _waitQ[i] = false; NextHead(pe, i); } }, "sendQ");
    }

    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes { get; }
    /// <summary>Byte address of head <paramref name="hi"/>'s resident Q rows (on the center PE of each row).</summary>
    public int QAddress(int hi) => _res0 + hi * _headBytes;
    /// <summary>Byte address of head <paramref name="hi"/>'s Kᵀ block (d × kb).</summary>
    public int KAddress(int hi) => QAddress(hi) + _qb * _d * 4;
    /// <summary>Byte address of head <paramref name="hi"/>'s V block (kb × d).</summary>
    public int VAddress(int hi) => KAddress(hi) + _kb * _d * 4;
    /// <summary>Byte address of head <paramref name="hi"/>'s output rows (on the center PE of each row).</summary>
    public int OutAddress(int hi) => VAddress(hi) + _kb * _d * 4;

    private int Id(Pe pe) => pe.Ly * _w + pe.Lx;
    private int Cx => _w / 2;

    /// <summary>Global query row of local row <paramref name="r"/> on PE row <paramref name="y"/>.</summary>
    public int QueryRow(int y, int r)
    {
        int b = r / _qs, rr = r % _qs;
        return _causal ? (b == 0 ? y : 2 * _h - 1 - y) * _qs + rr : y * _qb + r;
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        int i = Id(pe);
        _head[i] = 0; _commStep[i] = 0; _commDone[i] = 0; _qPending[i] = 0; _qReady[i] = false; _waitQ[i] = false;
        _max.Setup(pe); _sum.Setup(pe);
        if (_h > 1 && pe.Lx == 0 && pe.Ly == 0) RingRoutes(pe.Fabric);
        if (_w > 1 && pe.Lx == Cx) Trees.MulticastTree(pe.Fabric, Region, CQ, pe.X, pe.Y, onlyRow: pe.Y);
        pe.Activate(TStart);
    }

    // the K/V ring of every column: MeshGEMM's interleaved ring (every edge ≤ 2 hops, static routes, colors 18–23)
    private void RingRoutes(FabricSimulator f)
    {
        for (int x = 0; x < _w; x++)
            for (int k = 0; k < _h; k++)
            {
                int src = MeshGemmProgram.Phys(k, _h), dst = MeshGemmProgram.Phys((k - 1 + _h) % _h, _h);
                int color = CRing + MeshGemmProgram.EdgeColor(src, dst, 0), dir = dst > src ? 1 : -1;
                Ports fwd = dir > 0 ? Ports.South : Ports.North, back = dir > 0 ? Ports.North : Ports.South;
                for (int u = src; ; u += dir)
                {
                    int fx = Region.X + x, fy = Region.Y + u;
                    if (u == src) f.SetRoute(fx, fy, color, Ports.Ramp, fwd);
                    else if (u == dst) { f.SetRoute(fx, fy, color, back, Ports.Ramp); break; }
                    else f.SetRoute(fx, fy, color, back, fwd);
                }
            }
    }

    private void StartHead(Pe pe)
    {
        int i = Id(pe), hi = _head[i], qn = _qb * _d;
        pe.Exec(VecOp.Mov, Dsd.Mem(_m, _qb), Dsd.Scalar(Masked));
        pe.Exec(VecOp.Mov, Dsd.Mem(_lo, _qb + qn), Dsd.Scalar(0));
        _qReady[i] = false;
        if (pe.Lx == Cx)
        {
            pe.Exec(VecOp.Mov, Dsd.Mem(_qbuf, qn), Dsd.Mem(QAddress(hi), qn));
            if (_w > 1) { pe.Start(VecOp.Mov, Dsd.FabOut(CQ, qn), Dsd.Mem(QAddress(hi), qn), Completion.Activate(TQSend)); _qPending[i]++; }
            pe.Exec(VecOp.Mul, Dsd.Mem(_qbuf, qn), Dsd.Mem(_qbuf, qn), Dsd.Scalar(_scale));
            _qReady[i] = true;
        }
        else pe.Start(VecOp.Mov, Dsd.Mem(_qbuf, qn), Dsd.FabIn(CQ, qn), Completion.Activate(TQ));
        _commStep[i] = 0;
        BeginComm(pe, i, 0);
        TryCompute(pe, i);
    }

    private void QArrived(Pe pe)
    {
        int i = Id(pe), qn = _qb * _d;
        pe.Exec(VecOp.Mul, Dsd.Mem(_qbuf, qn), Dsd.Mem(_qbuf, qn), Dsd.Scalar(_scale));
        _qReady[i] = true;
        TryCompute(pe, i);
    }

    // step s folds the K/V block that started on ring position Logical(y) + s; step 0's is the PE's own
    private int KvAt(Pe pe, int s) => s == 0 ? KAddress(_head[Id(pe)]) : _kvbuf + ((s - 1) & 1) * 2 * _kb * _d * 4;
    private int OwnerRow(Pe pe, int s) => MeshGemmProgram.Phys((MeshGemmProgram.Logical(pe.Ly, _h) + s) % _h, _h);

    // during step s the held block moves one ring position down (to the predecessor) and the next arrives
    private void BeginComm(Pe pe, int i, int s)
    {
        _commDone[i] = 0;
        if (s == 0 || _h == 1) { _commDone[i] = 2; return; }
        int pos = pe.Ly, k = MeshGemmProgram.Logical(pos, _h);
        int dst = MeshGemmProgram.Phys((k - 1 + _h) % _h, _h), src = MeshGemmProgram.Phys((k + 1) % _h, _h);
        int len = 2 * _kb * _d;
        pe.Start(VecOp.Mov, Dsd.FabOut(CRing + MeshGemmProgram.EdgeColor(pos, dst, 0), len), Dsd.Mem(KvAt(pe, s - 1), len), Completion.Activate(TSend));
        pe.Start(VecOp.Mov, Dsd.Mem(KvAt(pe, s), len), Dsd.FabIn(CRing + MeshGemmProgram.EdgeColor(src, pos, 0), len), Completion.Activate(TRecv));
    }

    private void CommArrived(Pe pe)
    {
        int i = Id(pe);
        _commDone[i]++;
        TryCompute(pe, i);
    }

    // folds step s's key block once Q and the block are here; the next block streams into the other buffer meanwhile
    private void TryCompute(Pe pe, int i)
    {
        int s = _commStep[i];
        if (!_qReady[i] || _commDone[i] < 2 || s >= _h) return;
        int kv = KvAt(pe, s), owner = OwnerRow(pe, s);
        _commStep[i] = s + 1;
        if (s + 1 < _h) BeginComm(pe, i, s + 1);
        Fold(pe, owner, kv, kv + _kb * _d * 4);
        if (s + 1 == _h) StartMerge(pe);
    }

    private void Fold(Pe pe, int ownerRow, int kAddr, int vAddr)
    {
        int j = ownerRow * _w + pe.Lx, k0 = j * _kb, kb = _kb, d = _d, qs = _qs;
        if (k0 >= _tk) return; // a padding block
        int off = _tk - _tq;
        for (int b = 0; b < _nsub; b++)
        {
            int g0 = QueryRow(pe.Ly, b * qs);
            if (_causal && k0 > g0 + qs - 1 + off) continue; // every row of the sub-block masks the whole block
            int ro = b * qs;
            pe.Exec(VecOp.Mov, Dsd.Mem(_s, qs * kb), Dsd.Scalar(0));
            pe.Gemm(_s, _qbuf + ro * d * 4, kAddr, qs, d, kb);
            int valid = Math.Min(kb, _tk - k0);
            if (valid < kb || (_causal && k0 + kb - 1 > g0 + off))
                for (int r = 0; r < qs; r++)
                {
                    int lim = valid;
                    if (_causal) lim = Math.Min(lim, Math.Max(0, g0 + r + off - k0 + 1));
                    if (lim < kb) pe.Exec(VecOp.Mov, Dsd.Mem(_s + (r * kb + lim) * 4, kb - lim), Dsd.Scalar(Masked));
                }
            int m = _m + ro * 4, mn = _mnew + ro * 4, al = _alpha + ro * 4, l = _lo + ro * 4, o = _lo + (_qb + ro * d) * 4;
            pe.Exec(VecOp.Mov, Dsd.Mem(mn, qs), Dsd.Mem(m, qs));
            for (int r = 0; r < qs; r++)
                pe.Exec(VecOp.Max, Dsd.Mem(mn + r * 4, kb, stride: 0), Dsd.Mem(_s + r * kb * 4, kb), Dsd.Mem(mn + r * 4, kb, stride: 0));
            pe.Exec(VecOp.Sub, Dsd.Mem(al, qs), Dsd.Mem(m, qs), Dsd.Mem(mn, qs));
            pe.Exec(VecOp.Exp, Dsd.Mem(al, qs), Dsd.Mem(al, qs));
            pe.Exec(VecOp.Mul, Dsd.Mem(l, qs), Dsd.Mem(l, qs), Dsd.Mem(al, qs));
            for (int r = 0; r < qs; r++)
            {
                var row = Dsd.Mem(_s + r * kb * 4, kb);
                pe.Exec(VecOp.Sub, row, row, Dsd.Mem(mn + r * 4, kb, stride: 0));
                pe.Exec(VecOp.Exp, row, row);
                pe.Exec(VecOp.Add, Dsd.Mem(l + r * 4, kb, stride: 0), row, Dsd.Mem(l + r * 4, kb, stride: 0));
                var orow = Dsd.Mem(o + r * d * 4, d);
                pe.Exec(VecOp.Mul, orow, orow, Dsd.Mem(al + r * 4, d, stride: 0));
            }
            pe.Gemm(o, _s, vAddr, qs, kb, d);
            pe.Exec(VecOp.Mov, Dsd.Mem(m, qs), Dsd.Mem(mn, qs));
        }
    }

    private void StartMerge(Pe pe)
    {
        if (_w == 1) { Normalise(pe); return; }
        pe.Exec(VecOp.Mov, Dsd.Mem(_mloc, _qb), Dsd.Mem(_m, _qb));
        _max.Start(pe, _m, _qb, VecOp.Max, Completion.Activate(TMax));
    }

    // m now holds the row's max: weight this PE's partial l and O by e^(m_local − m) and sum them into the center
    private void Rescale(Pe pe)
    {
        pe.Exec(VecOp.Sub, Dsd.Mem(_alpha, _qb), Dsd.Mem(_mloc, _qb), Dsd.Mem(_m, _qb));
        pe.Exec(VecOp.Exp, Dsd.Mem(_alpha, _qb), Dsd.Mem(_alpha, _qb));
        pe.Exec(VecOp.Mul, Dsd.Mem(_lo, _qb), Dsd.Mem(_lo, _qb), Dsd.Mem(_alpha, _qb));
        int o = _lo + _qb * 4;
        for (int r = 0; r < _qb; r++)
        {
            var orow = Dsd.Mem(o + r * _d * 4, _d);
            pe.Exec(VecOp.Mul, orow, orow, Dsd.Mem(_alpha + r * 4, _d, stride: 0));
        }
        _sum.Start(pe, _lo, _qb * (_d + 1), VecOp.Add, Completion.Activate(TSum));
    }

    private void Finish(Pe pe)
    {
        if (pe.Lx == Cx) Normalise(pe);
        else NextHead(pe, Id(pe));
    }

    private void Normalise(Pe pe)
    {
        int i = Id(pe), o = _lo + _qb * 4, outAddr = OutAddress(_head[i]);
        pe.Exec(VecOp.Div, Dsd.Mem(_inv, _qb), Dsd.Scalar(1), Dsd.Mem(_lo, _qb));
        for (int r = 0; r < _qb; r++)
            pe.Exec(VecOp.Mul, Dsd.Mem(outAddr + r * _d * 4, _d), Dsd.Mem(o + r * _d * 4, _d), Dsd.Mem(_inv + r * 4, _d, stride: 0));
        NextHead(pe, i);
    }

    private void NextHead(Pe pe, int i)
    {
        if (_qPending[i] > 0) { _waitQ[i] = true; return; } // the row's Q stream must leave before the next head's
        if (_head[i] + 1 >= _nh) return;
        _head[i]++;
        pe.Activate(TStart);
    }

    /// <summary>
    /// Runs attention of <paramref name="heads"/> heads on <paramref name="region"/>: <paramref name="q"/> is
    /// [heads, Tq, d], <paramref name="k"/> and <paramref name="v"/> are [heads, Tk, d] (row-major float32); with
    /// <paramref name="causal"/> query i sees keys j ≤ i + Tk − Tq. The region is tiled into head sub-grids as
    /// <see cref="AttentionKernel.PlanFused"/> plans (the compiler's choice); scale defaults to 1/√d.
    /// Output is O, [heads, Tq, d].
    /// </summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] q, float[] k, float[] v, int heads, int tq, int tk, int d,
        bool causal, float? scale = null)
    {
        if (heads < 1 || tq < 1 || tk < 1 || d < 1) throw new ArgumentException($"attention: heads, Tq, Tk and d must be positive (got {heads}, {tq}, {tk}, {d})");
        if (q.Length != (long)heads * tq * d || k.Length != (long)heads * tk * d || v.Length != (long)heads * tk * d)
            throw new ArgumentException($"attention: expected Q [{heads}, {tq}, {d}] and K, V [{heads}, {tk}, {d}]");
        Trees.RequireLive(sim, region, "attention");
        var plan = AttentionKernel.PlanFused(heads, tq, tk, d, causal, region.Width, region.Height, new CostParams(sim.Spec, Precision.Fp32));
        int gx = region.Width / plan.SubW, fit = plan.SubGrids;
        float sc = scale ?? 1f / MathF.Sqrt(d);
        var progs = new AttentionProgram[Math.Min(fit, heads)];
        var regions = new Region[progs.Length];
        for (int g = 0; g < progs.Length; g++)
        {
            int nh = (heads - g + fit - 1) / fit; // heads g, g + fit, …
            progs[g] = new AttentionProgram(plan, nh, tq, tk, d, causal, sc);
            regions[g] = new Region(region.X + g % gx * plan.SubW, region.Y + g / gx * plan.SubH, plan.SubW, plan.SubH);
            if (progs[g].SramBytes > sim.Spec.PeSramBytes)
                throw new ArgumentException($"attention {heads}x{tq}x{tk}x{d} on {region.Width}x{region.Height}: {progs[g].SramBytes} bytes per PE exceed the {sim.Spec.PeSramBytes}-byte SRAM; use a larger region or fewer heads");
        }
        int w = plan.SubW, h = plan.SubH, qb = plan.RowsPerPe, qs = plan.RowsPerSubBlock, kb = plan.KeysPerBlock, cx = w / 2;
        var kt = new float[d * tk];
        for (int g = 0; g < progs.Length; g++)
        {
            var prog = progs[g]; var rg = regions[g];
            for (int hi = 0; hi < prog._nh; hi++)
            {
                int head = g + hi * fit;
                // K is held transposed (d × Tk): S = Q·Kᵀ is then a plain tile product (dist-GEMM-T, no transpose on the fabric)
                for (int t = 0; t < tk; t++) for (int c = 0; c < d; c++) kt[c * tk + t] = k[((long)head * tk + t) * d + c];
                var qh = q.AsSpan(head * tq * d, tq * d).ToArray();
                var vh = v.AsSpan(head * tk * d, tk * d).ToArray();
                for (int y = 0; y < h; y++)
                {
                    for (int b = 0; b < plan.SubBlocks; b++)
                        SummaGemmProgram.Place(sim.PeAt(rg.X + cx, rg.Y + y), prog.QAddress(hi) + b * qs * d * 4, qh, tq, d, prog.QueryRow(y, b * qs), 0, qs, d, DType.Float32);
                    for (int x = 0; x < w; x++)
                    {
                        var pe = sim.PeAt(rg.X + x, rg.Y + y);
                        int j = y * w + x;
                        SummaGemmProgram.Place(pe, prog.KAddress(hi), kt, d, tk, 0, j * kb, d, kb, DType.Float32);
                        SummaGemmProgram.Place(pe, prog.VAddress(hi), vh, tk, d, j * kb, 0, kb, d, DType.Float32);
                    }
                }
            }
        }
        long t0 = sim.Now;
        for (int g = 0; g < progs.Length; g++) sim.Load(progs[g], regions[g]);
        long end = sim.Run();
        sim.Phase($"attention {heads}x{tq}x{tk}x{d}{(causal ? " causal" : "")}", t0, end);
        var o = new float[(long)heads * tq * d];
        for (int g = 0; g < progs.Length; g++)
        {
            var prog = progs[g]; var rg = regions[g];
            for (int hi = 0; hi < prog._nh; hi++)
            {
                int head = g + hi * fit;
                for (int y = 0; y < h; y++)
                {
                    var t = sim.PeAt(rg.X + cx, rg.Y + y).F32(prog.OutAddress(hi), qb * d);
                    for (int r = 0; r < qb; r++)
                    {
                        int row = prog.QueryRow(y, r);
                        if (row < tq) t.Slice(r * d, d).CopyTo(o.AsSpan((int)(((long)head * tq + row) * d), d));
                    }
                }
            }
        }
        return new KernelRun(end - t0, o, sim.Stats(region));
    }
}
