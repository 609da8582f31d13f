namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Common layout of row-wise kernels (softmax, norms) on a w × h region with rows ≥ h: PE (x, y) holds rows
/// [y·rp, (y+1)·rp) and elements [x·lp, (x+1)·lp) of each (rp = ⌈R/h⌉, lp = ⌈L/w⌉), the same layout as the compiler's
/// RowLayout. Row statistics are all-reduced along each PE row with <see cref="CenterAllReduce"/> (rows only).
/// Memory: the rows at 0 (rp × lp floats), then four rp-float statistics vectors, then two lp-float parameter vectors.
/// </summary>
public abstract class RowKernelProgram : PeProgram
{
    /// <summary>Rows per PE.</summary>
    protected readonly int Rp;
    /// <summary>Row elements per PE.</summary>
    protected readonly int Lp;
    /// <summary>Row length.</summary>
    protected readonly int RowLength;
    /// <summary>Rows.</summary>
    protected readonly int Rows;
    /// <summary>The row all-reduce (tasks 1–3, colors 0–8).</summary>
    protected readonly CenterAllReduce Reduce;

    /// <summary>A row kernel for R rows of length L on a w × h region.</summary>
    protected RowKernelProgram(int rows, int len, int w, int h)
    {
        Rows = rows; RowLength = len;
        Rp = Layout.Div(rows, h); Lp = Layout.Div(len, w);
        Reduce = new CenterAllReduce(this, 0, 1, rowsOnly: true);
    }

    /// <summary>Address of row r's slice.</summary>
    protected int Row(int r) => r * Lp * 4;
    /// <summary>Address of statistics vector <paramref name="i"/> (0…3).</summary>
    public int Stat(int i) => Rp * Lp * 4 + i * Rp * 4;
    /// <summary>Address of parameter vector <paramref name="i"/> (0 gamma, 1 beta).</summary>
    public int Param(int i) => Stat(4) + i * Lp * 4;
    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes => Param(2);
    /// <summary>Valid rows on a PE.</summary>
    protected int ValidRows(Pe pe) => Math.Clamp(Rows - pe.Ly * Rp, 0, Rp);
    /// <summary>Valid elements per row on a PE.</summary>
    protected int ValidLen(Pe pe) => Math.Clamp(RowLength - pe.Lx * Lp, 0, Lp);
    /// <summary>A stride-0 view of element r of statistics vector i, repeated <paramref name="n"/> times.</summary>
    protected Dsd StatElem(int i, int r, int n) => Dsd.Mem(Stat(i) + r * 4, n, stride: 0);

    /// <summary>
    /// Folds each local row slice into element r of statistics vector <paramref name="stat"/> with <paramref name="op"/>
    /// (Add or Max, from <paramref name="init"/>), then starts the row all-reduce of that vector, which activates
    /// <paramref name="next"/> when done.
    /// </summary>
    protected void ReduceRows(Pe pe, int stat, VecOp op, float init, int next)
    {
        int rv = ValidRows(pe), lv = ValidLen(pe);
        pe.Exec(VecOp.Mov, Dsd.Mem(Stat(stat), Rp), Dsd.Scalar(init));
        if (lv > 0)
            for (int r = 0; r < rv; r++) pe.Exec(op, StatElem(stat, r, lv), Dsd.Mem(Row(r), lv), StatElem(stat, r, lv));
        Reduce.Start(pe, Stat(stat), Rp, op, Completion.Activate(next));
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe) { Reduce.Setup(pe); pe.Activate(0); }

    /// <summary>Places R × L row-major <paramref name="x"/> (and optional length-L gamma/beta) on the region, runs, gathers.</summary>
    protected static KernelRun RunRows(FabricSimulator sim, Region region, RowKernelProgram prog, float[] x, float[]? gamma, float[]? beta, string name)
    {
        Trees.RequireLive(sim, region, name);
        if (prog.Rows < region.Height) throw new ArgumentException($"{name}: {prog.Rows} rows on a region {region.Height} PEs high; use at least one row per PE row");
        if (prog.SramBytes > sim.Spec.PeSramBytes) throw new ArgumentException($"{name}: {prog.SramBytes} bytes per PE exceed SRAM; use a larger region");
        int R = prog.Rows, L = prog.RowLength;
        for (int py = 0; py < region.Height; py++)
            for (int px = 0; px < region.Width; px++)
            {
                var pe = sim.PeAt(region.X + px, region.Y + py);
                SummaGemmProgram.Place(pe, 0, x, R, L, py * prog.Rp, px * prog.Lp, prog.Rp, prog.Lp, Tensors.DType.Float32);
                if (gamma != null) SummaGemmProgram.Place(pe, prog.Param(0), gamma, 1, L, 0, px * prog.Lp, 1, prog.Lp, Tensors.DType.Float32);
                if (beta != null) SummaGemmProgram.Place(pe, prog.Param(1), beta, 1, L, 0, px * prog.Lp, 1, prog.Lp, Tensors.DType.Float32);
            }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase(name, t0, end);
        var y = new float[R * L];
        for (int py = 0; py < region.Height; py++)
            for (int px = 0; px < region.Width; px++)
            {
                var t = sim.PeAt(region.X + px, region.Y + py).F32(0, prog.Rp * prog.Lp);
                for (int i = 0; i < prog.Rp && py * prog.Rp + i < R; i++)
                    for (int j = 0; j < prog.Lp && px * prog.Lp + j < L; j++)
                        y[(py * prog.Rp + i) * L + px * prog.Lp + j] = t[i * prog.Lp + j];
            }
        return new KernelRun(end - t0, y, sim.Stats(region));
    }
}
