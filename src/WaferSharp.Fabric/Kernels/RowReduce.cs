namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Row sums (layout of <see cref="RowTensorsProgram"/>): each PE adds its slice of each of its rows into one value per
/// row, the values are reduced along the PE row to its center column (no broadcast back: the compiler's center-rooted
/// reduce), and each row's sum is divided there by <c>divisor</c> (1 for a sum, the count for a mean). With two tensors the summand is the squared difference (a − b)², as in the mean squared error.
/// This is the compiler's reduction layout: the reduced axis along the rows, kept elements down the PE rows.
/// </summary>
public sealed class RowReduceProgram : RowTensorsProgram
{
    /// <summary>Sums (or with <paramref name="squaredDifference"/>, Σ(a − b)²) of R rows of length L on a w × h region, divided by <paramref name="divisor"/>.</summary>
    public RowReduceProgram(int rows, int len, int w, int h, bool squaredDifference, float divisor)
        : base(rows, len, w, h, squaredDifference ? 2 : 1, 0, rowReduce: true, columnReduce: false, rowBroadcast: false)
    {
        BindLocalTask(0, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Mov, StatVec(0), Dsd.Scalar(0));
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    var a = RowDsd(0, r, lv);
                    if (!squaredDifference) { pe.Exec(VecOp.Add, StatElem(0, r, lv), a, StatElem(0, r, lv)); continue; }
                    pe.Exec(VecOp.Sub, a, a, RowDsd(1, r, lv));
                    pe.Exec(VecOp.Fma, StatElem(0, r, lv), a, a);
                }
            RowAllReduce.Start(pe, Stat(0), Rp, VecOp.Add, Completion.Activate(4));
        }, squaredDifference ? "squared-difference-sum" : "sum");
        BindLocalTask(4, pe => { if (divisor != 1 && pe.Lx == Region.Width / 2) pe.Exec(VecOp.Div, StatVec(0), StatVec(0), Dsd.Scalar(divisor)); }, "scale");
    }

    /// <summary>
    /// Runs the reduction of the rows of <paramref name="a"/> (R × L; with <paramref name="b"/>, of (a − b)²) on
    /// <paramref name="region"/>; Output holds one value per row.
    /// </summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] a, float[]? b, int rows, int len, float divisor)
    {
        var prog = new RowReduceProgram(rows, len, region.Width, region.Height, b != null, divisor);
        var (_, _, c) = Run(sim, region, prog, b == null ? [a] : [a, b], [], 0, [], b == null ? "row-sum" : "mse");
        var o = new float[rows];
        for (int py = 0; py < region.Height; py++)
        {
            int rv = Math.Clamp(rows - py * prog.Rp, 0, prog.Rp);
            if (rv > 0) sim.PeAt(region.X + region.Width / 2, region.Y + py).F32(prog.Stat(0), rv).CopyTo(o.AsSpan(py * prog.Rp));
        }
        return new KernelRun(c, o, sim.Stats(region));
    }
}
