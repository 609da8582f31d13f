namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Row-wise kernels over several row tensors of one shape (gradients of softmax and the norms, log-softmax, the causal
/// mask) in the layout of <see cref="RowKernelProgram"/>: on a w × h region with rows ≥ h, PE (x, y) holds rows
/// [y·rp, (y+1)·rp) and elements [x·lp, (x+1)·lp) of each tensor (rp = ⌈R/h⌉, lp = ⌈L/w⌉). Row statistics are
/// all-reduced along each PE row (<see cref="CenterAllReduce"/>, rows only, colors 0–8, tasks 1–3); per-column partial
/// sums over rows (a norm's dγ, dβ) are reduced down each PE column by a <see cref="ColumnChainReduce"/> (colors 9–10).
/// Memory: the T row tensors at 0 (rp × lp floats each), then four rp-float statistics vectors, then P lp-float
/// parameter vectors.
/// </summary>
public abstract class RowTensorsProgram : PeProgram
{
    /// <summary>Rows per PE.</summary>
    protected readonly int Rp;
    /// <summary>Row elements per PE.</summary>
    protected readonly int Lp;
    /// <summary>Row length.</summary>
    protected readonly int RowLength;
    /// <summary>Rows.</summary>
    protected readonly int Rows;
    private readonly int _tensors, _params;
    /// <summary>The row all-reduce (null when the kernel has no row statistics).</summary>
    protected readonly CenterAllReduce? Reduce;
    /// <summary>The column reduce of parameter partial sums (null when the kernel has none).</summary>
    protected readonly ColumnChainReduce? ColumnReduce;

    /// <summary>A kernel over <paramref name="tensors"/> R × L row tensors and <paramref name="parameters"/> length-L vectors on a w × h region.</summary>
    /// <param name="rowBroadcast">False: the row reduction ends at each PE row's center column (a reduce, not an all-reduce).</param>
    protected RowTensorsProgram(int rows, int len, int w, int h, int tensors, int parameters, bool rowReduce, bool columnReduce, bool rowBroadcast = true)
    {
        Rows = rows; RowLength = len; _tensors = tensors; _params = parameters;
        Rp = Layout.Div(rows, h); Lp = Layout.Div(len, w);
        if (rowReduce) Reduce = new CenterAllReduce(this, 0, 1, rowsOnly: true, broadcast: rowBroadcast);
        if (columnReduce) ColumnReduce = new ColumnChainReduce(this, 9, 7);
    }

    /// <summary>Address of row r's slice of tensor t.</summary>
    public int Row(int t, int r) => (t * Rp + r) * Lp * 4;
    /// <summary>Address of statistics vector <paramref name="i"/> (0…3).</summary>
    public int Stat(int i) => _tensors * Rp * Lp * 4 + i * Rp * 4;
    /// <summary>Address of parameter vector <paramref name="i"/>.</summary>
    public int Param(int i) => Stat(4) + i * Lp * 4;
    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes => Param(_params);
    /// <summary>Valid rows on a PE.</summary>
    protected int ValidRows(Pe pe) => Math.Clamp(Rows - pe.Ly * Rp, 0, Rp);
    /// <summary>Valid elements per row on a PE.</summary>
    protected int ValidLen(Pe pe) => Math.Clamp(RowLength - pe.Lx * Lp, 0, Lp);
    /// <summary>A memory vector over row r of tensor t (<paramref name="n"/> elements).</summary>
    protected Dsd RowDsd(int t, int r, int n) => Dsd.Mem(Row(t, r), n);
    /// <summary>A stride-0 view of element r of statistics vector i, repeated <paramref name="n"/> times.</summary>
    protected Dsd StatElem(int i, int r, int n) => Dsd.Mem(Stat(i) + r * 4, n, stride: 0);
    /// <summary>Statistics vector i (all rp rows).</summary>
    protected Dsd StatVec(int i, int n = 0) => Dsd.Mem(Stat(i), n > 0 ? n : Rp);

    /// <summary>The row all-reduce; only for kernels built with one.</summary>
    protected CenterAllReduce RowAllReduce => Reduce ?? throw new InvalidOperationException($"{Name}: this kernel has no row reduction");

    /// <summary>
    /// Folds each local row slice of tensor <paramref name="tensor"/> into element r of statistics vector <paramref name="stat"/> with
    /// <paramref name="op"/> (Add or Max, from <paramref name="init"/>), then starts the row all-reduce of that vector,
    /// which activates <paramref name="next"/> when done.
    /// </summary>
    protected void ReduceRows(Pe pe, int stat, VecOp op, float init, int next, int tensor = 0)
    {
        int rv = ValidRows(pe), lv = ValidLen(pe);
        pe.Exec(VecOp.Mov, StatVec(stat), Dsd.Scalar(init));
        if (lv > 0)
            for (int r = 0; r < rv; r++) pe.Exec(op, StatElem(stat, r, lv), RowDsd(tensor, r, lv), StatElem(stat, r, lv));
        RowAllReduce.Start(pe, Stat(stat), Rp, op, Completion.Activate(next));
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        Reduce?.Setup(pe);
        ColumnReduce?.Setup(pe);
        pe.Activate(0);
    }

    /// <summary>
    /// Places the R × L row-major <paramref name="tensors"/> (null: scratch) and length-L <paramref name="parameters"/>
    /// (null: zeros, e.g. partial-sum accumulators) on the region, runs the program and gathers tensor
    /// <paramref name="output"/> plus the parameter vectors <paramref name="columnSums"/> as the last PE row holds them.
    /// </summary>
    public static (float[] Output, float[][] ColumnSums, long Cycles) Run(FabricSimulator sim, Region region, RowTensorsProgram prog,
        float[]?[] tensors, float[]?[] parameters, int output, int[] columnSums, string name)
    {
        Trees.RequireLive(sim, region, name);
        if (prog.Rows < region.Height) throw new ArgumentException($"{name}: {prog.Rows} rows on a region {region.Height} PEs high; use at least one row per PE row");
        if (prog.SramBytes > sim.Spec.PeSramBytes) throw new ArgumentException($"{name}: {prog.SramBytes} bytes per PE exceed the {sim.Spec.PeSramBytes}-byte SRAM; use a larger region");
        int R = prog.Rows, L = prog.RowLength;
        for (int py = 0; py < region.Height; py++)
            for (int px = 0; px < region.Width; px++)
            {
                var pe = sim.PeAt(region.X + px, region.Y + py);
                pe.F32(0, Math.Max(1, prog.SramBytes / 4)); // grow once, so the spans below stay valid
                for (int t = 0; t < tensors.Length; t++)
                    if (tensors[t] is { } x) SummaGemmProgram.Place(pe, prog.Row(t, 0), x, R, L, py * prog.Rp, px * prog.Lp, prog.Rp, prog.Lp, Tensors.DType.Float32);
                for (int i = 0; i < parameters.Length; i++)
                    if (parameters[i] is { } v) SummaGemmProgram.Place(pe, prog.Param(i), v, 1, L, 0, px * prog.Lp, 1, prog.Lp, Tensors.DType.Float32);
                    else pe.F32(prog.Param(i), prog.Lp).Clear(); // accumulators start at zero, whatever the last program left
            }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase(name, t0, end);
        var y = new float[R * L];
        for (int py = 0; py < region.Height; py++)
            for (int px = 0; px < region.Width; px++)
            {
                var t = sim.PeAt(region.X + px, region.Y + py).F32(prog.Row(output, 0), prog.Rp * prog.Lp);
                for (int i = 0; i < prog.Rp && py * prog.Rp + i < R; i++)
                    for (int j = 0; j < prog.Lp && px * prog.Lp + j < L; j++)
                        y[(py * prog.Rp + i) * L + px * prog.Lp + j] = t[i * prog.Lp + j];
            }
        var sums = new float[columnSums.Length][];
        for (int k = 0; k < columnSums.Length; k++)
        {
            sums[k] = new float[L];
            for (int px = 0; px < region.Width; px++)
            {
                int lv = Math.Clamp(L - px * prog.Lp, 0, prog.Lp);
                if (lv > 0) sim.PeAt(region.X + px, region.Y + region.Height - 1).F32(prog.Param(columnSums[k]), lv).CopyTo(sums[k].AsSpan(px * prog.Lp));
            }
        }
        return (y, sums, end - t0);
    }
}

/// <summary>
/// Sums a vector held by every PE of a region column down to the column's last PE: a pipelined chain (each PE adds its
/// vector to the stream passing through, one element per cycle) on two alternating colors so no PE sends and receives
/// on one color. Uses colors colorBase, colorBase+1 and one local task.
/// </summary>
public sealed class ColumnChainReduce
{
    private readonly PeProgram _host;
    private readonly int _c0, _task;
    private Completion[] _done = [];

    /// <summary>A component bound to <paramref name="host"/>, colors colorBase…colorBase+1 and local task <paramref name="task"/>.</summary>
    public ColumnChainReduce(PeProgram host, int colorBase, int task)
    {
        _host = host; _c0 = colorBase; _task = task;
        host.BindLocalTask(task, pe =>
        {
            var d = _done[pe.Ly * _host.Region.Width + pe.Lx];
            if (d.Kind == 1) pe.Activate(d.Task); else if (d.Kind == 2) pe.Unblock(d.Task);
        }, "column-reduce");
    }

    /// <summary>Sets the chain's routes on one PE (call from <see cref="PeProgram.Setup"/>).</summary>
    public void Setup(Pe pe)
    {
        int w = _host.Region.Width, h = _host.Region.Height;
        if (_done.Length != w * h) _done = new Completion[w * h];
        int ly = pe.Ly;
        if (ly < h - 1) pe.Fabric.SetRoute(pe.X, pe.Y, _c0 + ly % 2, Ports.Ramp, Ports.South);
        if (ly > 0) pe.Fabric.SetRoute(pe.X, pe.Y, _c0 + (ly - 1) % 2, Ports.North, Ports.Ramp);
    }

    /// <summary>
    /// Starts the reduction of the <paramref name="n"/> floats at <paramref name="address"/>; the column's last PE ends
    /// with the sum (rows in order), and <paramref name="done"/> fires on each PE when its part is finished.
    /// </summary>
    public void Start(Pe pe, int address, int n, Completion done)
    {
        int h = _host.Region.Height, ly = pe.Ly;
        _done[ly * _host.Region.Width + pe.Lx] = done;
        var mem = Dsd.Mem(address, n);
        var fin = Dsd.FabIn(_c0 + (ly + 1) % 2, n); // (ly − 1) % 2 without a negative operand
        if (h == 1) { pe.Activate(_task); return; }
        if (ly == 0) pe.Start(VecOp.Mov, Dsd.FabOut(_c0, n), mem, Completion.Activate(_task));
        else if (ly < h - 1) pe.Start(VecOp.Add, Dsd.FabOut(_c0 + ly % 2, n), fin, mem, Completion.Activate(_task));
        else pe.Start(VecOp.Add, mem, fin, mem, Completion.Activate(_task));
    }
}
