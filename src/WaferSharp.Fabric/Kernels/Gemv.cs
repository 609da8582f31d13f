namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// GEMV / skinny GEMM Y[M×N] = X[M×K]·W[K×N] for small M (decode) on a w × h region, MeshGEMV style: PE (x, y) holds
/// W[x·Kt…, y·Nt…] (Kt = ⌈K/w⌉, Nt = ⌈N/h⌉); the top PE of column x holds X[:, x·Kt…] and multicasts it down the
/// column (one router tree, color 9); every PE computes its partial Y block (M × Nt) with one FMAC loop; each row then
/// reduces its partials to the row's center PE with the pipelined chain of <see cref="CenterAllReduce"/> (a two-branch
/// tree), where Y[:, y·Nt…] ends.
/// </summary>
public sealed class GemvProgram : PeProgram
{
    private const int CX = 9;
    private readonly CenterAllReduce _reduce;
    private readonly int _m, _kt, _nt, _h;

    /// <summary>Address of the partial/final Y block (float32, M × Nt).</summary>
    public int YAddress => 0;
    /// <summary>Address of the W tile (Kt × Nt).</summary>
    public int WAddress => Align(_m * _nt * 4);
    /// <summary>Address of the X slice (M × Kt).</summary>
    public int XAddress => Align(WAddress + _kt * _nt * 4);
    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes => XAddress + _m * _kt * 4;
    private static int Align(int a) => (a + 15) & ~15;

    /// <summary>GEMV on a w × h grid with per-PE tiles.</summary>
    public GemvProgram(int w, int h, int m, int kt, int nt)
    {
        _h = h; _m = m; _kt = kt; _nt = nt;
        _reduce = new CenterAllReduce(this, 0, 1, rowsOnly: true, broadcast: false);
        BindLocalTask(0, pe =>
        {
            if (pe.Ly == 0)
            {
                if (_h > 1) pe.Start(VecOp.Mov, Dsd.FabOut(CX, _m * _kt), Dsd.Mem(XAddress, _m * _kt), Completion.None);
                Compute(pe);
            }
            else pe.Start(VecOp.Mov, Dsd.Mem(XAddress, _m * _kt), Dsd.FabIn(CX, _m * _kt), Completion.Activate(4));
        }, "start");
        BindLocalTask(4, Compute, "gemv");
    }

    private void Compute(Pe pe)
    {
        pe.Gemm(YAddress, XAddress, WAddress, _m, _kt, _nt);
        _reduce.Start(pe, YAddress, _m * _nt, VecOp.Add, Completion.None);
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        _reduce.Setup(pe);
        if (_h > 1)
        {
            if (pe.Ly == 0) pe.Fabric.SetRoute(pe.X, pe.Y, CX, Ports.Ramp, Ports.South);
            else pe.Fabric.SetRoute(pe.X, pe.Y, CX, Ports.North, Ports.Ramp | (pe.Ly < _h - 1 ? Ports.South : 0));
        }
        pe.F32(YAddress, _m * _nt).Clear();
        pe.Activate(0);
    }

    /// <summary>Runs Y = X·W on the w × h region at (x0, y0); Output is Y (M × N).</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] x, float[] wt, int m, int k, int n)
    {
        Trees.RequireLive(sim, region, "gemv");
        int w = region.Width, h = region.Height;
        int kt = Layout.Div(k, w), nt = Layout.Div(n, h);
        var prog = new GemvProgram(w, h, m, kt, nt);
        if (prog.SramBytes > sim.Spec.PeSramBytes) throw new ArgumentException($"gemv {m}x{k}x{n} on {w}x{h}: {prog.SramBytes} bytes per PE exceed SRAM; use a larger grid");
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++)
            {
                var pe = sim.PeAt(region.X + px, region.Y + py);
                SummaGemmProgram.Place(pe, prog.WAddress, wt, k, n, px * kt, py * nt, kt, nt, Tensors.DType.Float32);
                if (py == 0) SummaGemmProgram.Place(pe, prog.XAddress, x, m, k, 0, px * kt, m, kt, Tensors.DType.Float32);
            }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase($"gemv {m}x{k}x{n}", t0, end);
        var y = new float[m * n];
        for (int py = 0; py < h; py++)
        {
            var t = sim.PeAt(region.X + w / 2, region.Y + py).F32(prog.YAddress, m * nt);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < nt && py * nt + j < n; j++) y[i * n + py * nt + j] = t[i * nt + j];
        }
        return new KernelRun(end - t0, y, sim.Stats(region));
    }
}
