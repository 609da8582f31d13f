using WaferSharp.Tensors;

namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// SUMMA GEMM C[M×N] = A[M×K]·B[K×N] on a P × P region. PE (x, y) holds the tiles A[y, x] (Mt × Kt), B[y, x] (Kt × Nt)
/// and C[y, x] (Mt × Nt) with Mt = ⌈M/P⌉, Kt = ⌈K/P⌉, Nt = ⌈N/P⌉ (zero padded). Step s: column s multicasts its A tiles
/// along the rows (color 0) and row s its B tiles down the columns (color 1) — each PE switches its two routes to the
/// step's root, like switch positions — and every PE does C += A_s·B_s as one asynchronous FMAC loop while the next
/// step's panels stream into a second buffer.
/// </summary>
public sealed class SummaGemmProgram : PeProgram
{
    private const int CA = 0, CB = 1;
    private const int TStep = 0, TCommA = 1, TCommB = 2, TGemm = 3;
    private readonly int _p, _mt, _kt, _nt;
    private readonly DType _type;
    private readonly int _aAddr, _bAddr, _cAddr, _bufA0, _bufB0;
    private readonly int[] _commStep, _commDone, _gemmStep;
    private readonly bool[] _gemmBusy;

    /// <summary>SUMMA on a P × P grid with per-PE tiles Mt × Kt, Kt × Nt, Mt × Nt of <paramref name="type"/> (C is float32).</summary>
    public SummaGemmProgram(int p, int mt, int kt, int nt, DType type = DType.Float32)
    {
        _p = p; _mt = mt; _kt = kt; _nt = nt; _type = type;
        int es = type.Size();
        _aAddr = 0;
        _bAddr = Align(_aAddr + mt * kt * es);
        _cAddr = Align(_bAddr + kt * nt * es);
        _bufA0 = Align(_cAddr + mt * nt * 4);
        _bufB0 = Align(_bufA0 + 2 * mt * kt * es);
        SramBytes = _bufB0 + 2 * kt * nt * es;
        int n = p * p;
        _commStep = new int[n]; _commDone = new int[n]; _gemmStep = new int[n]; _gemmBusy = new bool[n];
        BindLocalTask(TStep, BeginComm, "comm");
        BindLocalTask(TCommA, CommDone, "recvA");
        BindLocalTask(TCommB, CommDone, "recvB");
        BindLocalTask(TGemm, GemmDone, "fmac");
    }

    private static int Align(int a) => (a + 15) & ~15;

    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes { get; }
    /// <summary>Byte address of the C tile (float32, Mt × Nt).</summary>
    public int CAddress => _cAddr;
    /// <summary>Byte address of the A tile.</summary>
    public int AAddress => _aAddr;
    /// <summary>Byte address of the B tile.</summary>
    public int BAddress => _bAddr;

    private int BufA(int s) => _bufA0 + (s & 1) * _mt * _kt * _type.Size();
    private int BufB(int s) => _bufB0 + (s & 1) * _kt * _nt * _type.Size();

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        int i = pe.Ly * _p + pe.Lx;
        _commStep[i] = 0; _commDone[i] = 0; _gemmStep[i] = 0; _gemmBusy[i] = false;
        pe.F32(_cAddr, _mt * _nt).Clear();
        // routes exist from the start (step 0's positions); each step switches them
        Routes(pe, 0, fromTask: false);
        pe.Activate(TStep);
    }

    private void Routes(Pe pe, int s, bool fromTask)
    {
        int x = pe.Lx, y = pe.Ly, p = _p;
        Ports rowRx, rowTx, colRx, colTx;
        if (x == s) { rowRx = Ports.Ramp; rowTx = (x > 0 ? Ports.West : 0) | (x < p - 1 ? Ports.East : 0); }
        else if (x < s) { rowRx = Ports.East; rowTx = Ports.Ramp | (x > 0 ? Ports.West : 0); }
        else { rowRx = Ports.West; rowTx = Ports.Ramp | (x < p - 1 ? Ports.East : 0); }
        if (y == s) { colRx = Ports.Ramp; colTx = (y > 0 ? Ports.North : 0) | (y < p - 1 ? Ports.South : 0); }
        else if (y < s) { colRx = Ports.South; colTx = Ports.Ramp | (y > 0 ? Ports.North : 0); }
        else { colRx = Ports.North; colTx = Ports.Ramp | (y < p - 1 ? Ports.South : 0); }
        if (fromTask) { pe.SetRoute(CA, rowRx, rowTx); pe.SetRoute(CB, colRx, colTx); }
        else { pe.Fabric.SetRoute(pe.X, pe.Y, CA, rowRx, rowTx); pe.Fabric.SetRoute(pe.X, pe.Y, CB, colRx, colTx); }
    }

    // starts the panel exchange of step commStep
    private void BeginComm(Pe pe)
    {
        int i = pe.Ly * _p + pe.Lx, s = _commStep[i];
        if (s > 0) Routes(pe, s, fromTask: true);
        _commDone[i] = 0;
        int la = _mt * _kt, lb = _kt * _nt;
        if (_p == 1) { _commDone[i] = 2; TryGemm(pe, i); return; }
        if (pe.Lx == s) pe.Start(VecOp.Mov, Dsd.FabOut(CA, la, _type), Dsd.Mem(_aAddr, la, _type), Completion.Activate(TCommA));
        else pe.Start(VecOp.Mov, Dsd.Mem(BufA(s), la, _type), Dsd.FabIn(CA, la, _type), Completion.Activate(TCommA));
        if (pe.Ly == s) pe.Start(VecOp.Mov, Dsd.FabOut(CB, lb, _type), Dsd.Mem(_bAddr, lb, _type), Completion.Activate(TCommB));
        else pe.Start(VecOp.Mov, Dsd.Mem(BufB(s), lb, _type), Dsd.FabIn(CB, lb, _type), Completion.Activate(TCommB));
    }

    private void CommDone(Pe pe)
    {
        int i = pe.Ly * _p + pe.Lx;
        _commDone[i]++;
        TryGemm(pe, i);
    }

    private void TryGemm(Pe pe, int i)
    {
        int s = _commStep[i];
        if (_commDone[i] < 2 || _gemmBusy[i] || _gemmStep[i] != s) return;
        int a = pe.Lx == s ? _aAddr : BufA(s), b = pe.Ly == s ? _bAddr : BufB(s);
        _gemmBusy[i] = true;
        pe.StartGemm(_cAddr, a, b, _mt, _kt, _nt, _type, Completion.Activate(TGemm));
        // the other buffer is free now: start the next step's exchange
        if (s + 1 < _p) { _commStep[i] = s + 1; _commDone[i] = 0; BeginComm(pe); }
        else _commDone[i] = -1;
    }

    private void GemmDone(Pe pe)
    {
        int i = pe.Ly * _p + pe.Lx;
        _gemmBusy[i] = false;
        _gemmStep[i]++;
        if (_gemmStep[i] < _p) TryGemm(pe, i);
    }

    /// <summary>
    /// Runs C = A·B (row-major float32 inputs) on the P × P region at (<paramref name="x0"/>, <paramref name="y0"/>);
    /// inputs are rounded to <paramref name="type"/> when 16-bit. Output is C (M × N).
    /// </summary>
    public static KernelRun Run(FabricSimulator sim, int x0, int y0, int p, float[] a, float[] b, int m, int k, int n, DType type = DType.Float32)
    {
        var region = new Region(x0, y0, p, p);
        Trees.RequireLive(sim, region, "gemm");
        int mt = Layout.Div(m, p), kt = Layout.Div(k, p), nt = Layout.Div(n, p);
        var prog = new SummaGemmProgram(p, mt, kt, nt, type);
        if (prog.SramBytes > sim.Spec.PeSramBytes)
            throw new ArgumentException($"gemm {m}x{k}x{n} on {p}x{p}: tiles need {prog.SramBytes} bytes per PE, more than the {sim.Spec.PeSramBytes}-byte SRAM; use a larger grid");
        for (int y = 0; y < p; y++)
            for (int x = 0; x < p; x++)
            {
                var pe = sim.PeAt(x0 + x, y0 + y);
                Place(pe, prog.AAddress, a, m, k, y * mt, x * kt, mt, kt, type);
                Place(pe, prog.BAddress, b, k, n, y * kt, x * nt, kt, nt, type);
            }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase($"gemm-summa {m}x{k}x{n}", t0, end);
        var c = new float[m * n];
        for (int y = 0; y < p; y++)
            for (int x = 0; x < p; x++)
            {
                var t = sim.PeAt(x0 + x, y0 + y).F32(prog.CAddress, mt * nt);
                for (int i = 0; i < mt && y * mt + i < m; i++)
                    for (int j = 0; j < nt && x * nt + j < n; j++)
                        c[(y * mt + i) * n + x * nt + j] = t[i * nt + j];
            }
        return new KernelRun(end - t0, c, sim.Stats(region));
    }

    /// <summary>Copies the (r0, c0) tile of a rows × cols matrix into PE SRAM at <paramref name="addr"/>, zero padded.</summary>
    internal static void Place(Pe pe, int addr, float[] src, int rows, int cols, int r0, int c0, int tr, int tc, DType type)
    {
        if (type == DType.Float32)
        {
            var t = pe.F32(addr, tr * tc);
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < tc; j++)
                    t[i * tc + j] = r0 + i < rows && c0 + j < cols ? src[(r0 + i) * cols + c0 + j] : 0f;
        }
        else
        {
            var t = pe.U16(addr, tr * tc);
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < tc; j++)
                {
                    float v = r0 + i < rows && c0 + j < cols ? src[(r0 + i) * cols + c0 + j] : 0f;
                    t[i * tc + j] = type == DType.BFloat16 ? Float16Bits.ToBFloat16(v) : Float16Bits.ToHalf(v);
                }
        }
    }
}
