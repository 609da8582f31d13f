using WaferSharp.Tensors;

namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Shift-style GEMM (Cannon's algorithm on the INTERLEAVE ring of MeshGEMM, mesh-algorithms.md §3) C = A·B on a P × P
/// region. Along each axis the logical ring 0 → 2 → 4 → … → 3 → 1 is laid so that every ring edge spans at most two
/// hops (six colors per axis: two per direction for two-hop moves, two for the one-hop turnarounds), with static
/// routes. PE at logical (i, j) starts with A(i, j), B(i, j); the alignment shifts row i's A tiles i times and column
/// j's B tiles j times toward lower ring positions; then P steps each do C += A·B as one asynchronous FMAC loop while
/// A moves one ring position along the row and B one along the column into second buffers.
/// </summary>
public sealed class MeshGemmProgram : PeProgram
{
    private const int TShiftA = 0, TShiftB = 1, TGemm = 2, TStart = 3;
    private readonly int _p, _mt, _kt, _nt;
    private readonly int _c, _a0, _b0;
    private readonly int[] _phase, _round, _pending, _curA, _curB;

    /// <summary>Cannon/MeshGEMM on a P × P grid with per-PE tiles (float32).</summary>
    public MeshGemmProgram(int p, int mt, int kt, int nt)
    {
        _p = p; _mt = mt; _kt = kt; _nt = nt;
        _c = 0;
        _a0 = Align(mt * nt * 4);
        _b0 = Align(_a0 + 2 * mt * kt * 4);
        SramBytes = _b0 + 2 * kt * nt * 4;
        int n = p * p;
        _phase = new int[n]; _round = new int[n]; _pending = new int[n]; _curA = new int[n]; _curB = new int[n];
        // one task per outstanding instruction (activations are flags and would merge)
        BindLocalTask(TShiftA, Done, "sendA");
        BindLocalTask(TShiftB, Done, "sendB");
        BindLocalTask(TShiftA + 4, Done, "recvA");
        BindLocalTask(TShiftB + 4, Done, "recvB");
        BindLocalTask(TGemm, Done, "fmac");
        BindLocalTask(TStart, pe => Advance(pe, Id(pe)), "start");
    }

    private static int Align(int a) => (a + 15) & ~15;
    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes { get; }
    /// <summary>Address of the C tile.</summary>
    public int CAddress => _c;
    /// <summary>Address of A buffer 0 (the initial A tile).</summary>
    public int AAddress => _a0;
    /// <summary>Address of B buffer 0 (the initial B tile).</summary>
    public int BAddress => _b0;
    private int ABuf(int i) => _a0 + i * _mt * _kt * 4;
    private int BBuf(int i) => _b0 + i * _kt * _nt * 4;
    private int Id(Pe pe) => pe.Ly * _p + pe.Lx;

    /// <summary>Physical position of ring index k on a line of n PEs (the folded ring).</summary>
    public static int Phys(int k, int n) => k < (n + 1) / 2 ? 2 * k : 2 * (n - 1 - k) + 1;
    /// <summary>Ring index of physical position x.</summary>
    public static int Logical(int x, int n) => x % 2 == 0 ? x / 2 : n - 1 - (x - 1) / 2;

    // color of the ring edge leaving physical position src toward dst on one axis (base 0 for x, 6 for y)
    internal static int EdgeColor(int src, int dst, int axisBase)
    {
        if (Math.Abs(dst - src) == 2) return axisBase + (dst < src ? (src / 2) % 2 : 2 + ((src - 1) / 2) % 2);
        return axisBase + (src == 0 ? 4 : 5);
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        int i = Id(pe);
        _phase[i] = 0; _round[i] = 0; _pending[i] = 0; _curA[i] = 0; _curB[i] = 0;
        pe.F32(_c, _mt * _nt).Clear();
        if (pe.Lx == 0 && pe.Ly == 0 && _p > 1) SetRingRoutes(pe.Fabric);
        pe.Activate(TStart);
    }

    private void SetRingRoutes(FabricSimulator f)
    {
        for (int axis = 0; axis < 2; axis++)
            for (int line = 0; line < _p; line++)
                for (int k = 0; k < _p; k++)
                {
                    int src = Phys(k, _p), dst = Phys((k - 1 + _p) % _p, _p);
                    int color = EdgeColor(src, dst, axis * 6);
                    int dir = dst > src ? 1 : -1;
                    Ports fwd = axis == 0 ? (dir > 0 ? Ports.East : Ports.West) : (dir > 0 ? Ports.South : Ports.North);
                    Ports back = axis == 0 ? (dir > 0 ? Ports.West : Ports.East) : (dir > 0 ? Ports.North : Ports.South);
                    for (int u = src; ; u += dir)
                    {
                        int x = Region.X + (axis == 0 ? u : line), y = Region.Y + (axis == 0 ? line : u);
                        if (f.RouteOf(x, y, color).Tx != Ports.None) throw new InvalidOperationException($"meshgemm: color {color} used twice at ({x}, {y})");
                        if (u == src) f.SetRoute(x, y, color, Ports.Ramp, fwd);
                        else if (u == dst) { f.SetRoute(x, y, color, back, Ports.Ramp); break; }
                        else f.SetRoute(x, y, color, back, fwd);
                    }
                }
    }

    // one ring shift of the current A (axis 0) or B (axis 1) tile into the other buffer
    private void Shift(Pe pe, int i, int axis)
    {
        int pos = axis == 0 ? pe.Lx : pe.Ly;
        int k = Logical(pos, _p);
        int dst = Phys((k - 1 + _p) % _p, _p), src = Phys((k + 1) % _p, _p);
        int outColor = EdgeColor(pos, dst, axis * 6), inColor = EdgeColor(src, pos, axis * 6);
        int len = axis == 0 ? _mt * _kt : _kt * _nt;
        int cur = axis == 0 ? _curA[i] : _curB[i];
        int from = axis == 0 ? ABuf(cur) : BBuf(cur), to = axis == 0 ? ABuf(1 - cur) : BBuf(1 - cur);
        int task = axis == 0 ? TShiftA : TShiftB;
        pe.Start(VecOp.Mov, Dsd.FabOut(outColor, len), Dsd.Mem(from, len), Completion.Activate(task));
        pe.Start(VecOp.Mov, Dsd.Mem(to, len), Dsd.FabIn(inColor, len), Completion.Activate(task + 4));
        _pending[i] += 2;
    }

    private void Done(Pe pe)
    {
        int i = Id(pe);
        _pending[i]--;
        Advance(pe, i);
    }

    // phase 0: alignment rounds; phase 1: compute-shift steps; phase 2: done
    private void Advance(Pe pe, int i)
    {
        if (_pending[i] > 0) return;
        int li = Logical(pe.Ly, _p), lj = Logical(pe.Lx, _p);
        if (_phase[i] == 0)
        {
            int r = _round[i];
            if (r > 0) { if (r - 1 < li) _curA[i] ^= 1; if (r - 1 < lj) _curB[i] ^= 1; }
            if (_p > 1 && r < _p - 1 && (r < li || r < lj))
            {
                _round[i] = r + 1;
                if (r < li) Shift(pe, i, 0);
                if (r < lj) Shift(pe, i, 1);
                if (_pending[i] > 0) return;
            }
            _phase[i] = 1; _round[i] = 0;
        }
        if (_phase[i] == 1)
        {
            int s = _round[i];
            if (s > 0 && _p > 1) { _curA[i] ^= 1; _curB[i] ^= 1; }
            if (s == _p) { _phase[i] = 2; return; }
            _round[i] = s + 1;
            pe.StartGemm(_c, ABuf(_curA[i]), BBuf(_curB[i]), _mt, _kt, _nt, DType.Float32, Completion.Activate(TGemm));
            _pending[i]++;
            if (s < _p - 1) { Shift(pe, i, 0); Shift(pe, i, 1); }
        }
    }

    /// <summary>Runs C = A·B (row-major float32) on the P × P region at (x0, y0); Output is C (M × N).</summary>
    public static KernelRun Run(FabricSimulator sim, int x0, int y0, int p, float[] a, float[] b, int m, int k, int n)
    {
        var region = new Region(x0, y0, p, p);
        Trees.RequireLive(sim, region, "meshgemm");
        int mt = Layout.Div(m, p), kt = Layout.Div(k, p), nt = Layout.Div(n, p);
        var prog = new MeshGemmProgram(p, mt, kt, nt);
        if (prog.SramBytes > sim.Spec.PeSramBytes)
            throw new ArgumentException($"meshgemm {m}x{k}x{n} on {p}x{p}: tiles need {prog.SramBytes} bytes per PE, more than the {sim.Spec.PeSramBytes}-byte SRAM; use a larger grid");
        for (int py = 0; py < p; py++)
            for (int px = 0; px < p; px++)
            {
                int i = Logical(py, p), j = Logical(px, p);
                var pe = sim.PeAt(x0 + px, y0 + py);
                SummaGemmProgram.Place(pe, prog.AAddress, a, m, k, i * mt, j * kt, mt, kt, DType.Float32);
                SummaGemmProgram.Place(pe, prog.BAddress, b, k, n, i * kt, j * nt, kt, nt, DType.Float32);
            }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase($"gemm-meshgemm {m}x{k}x{n}", t0, end);
        var c = new float[m * n];
        for (int py = 0; py < p; py++)
            for (int px = 0; px < p; px++)
            {
                int i = Logical(py, p), j = Logical(px, p);
                var t = sim.PeAt(x0 + px, y0 + py).F32(prog.CAddress, mt * nt);
                for (int r = 0; r < mt && i * mt + r < m; r++)
                    for (int q = 0; q < nt && j * nt + q < n; q++)
                        c[(i * mt + r) * n + j * nt + q] = t[r * nt + q];
            }
        return new KernelRun(end - t0, c, sim.Stats(region));
    }
}
