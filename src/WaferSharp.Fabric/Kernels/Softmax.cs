namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Row softmax on a region (layout of <see cref="RowKernelProgram"/>): local row max, all-reduce(max) along the PE row,
/// x ← exp(x − max) with a local sum, all-reduce(sum), x ← x · (1 / sum).
/// </summary>
public sealed class SoftmaxProgram : RowKernelProgram
{
    /// <summary>Softmax of R rows of length L on a w × h region.</summary>
    public SoftmaxProgram(int rows, int len, int w, int h) : base(rows, len, w, h)
    {
        BindLocalTask(0, pe => ReduceRows(pe, 0, VecOp.Max, float.NegativeInfinity, 4), "max");
        BindLocalTask(4, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Mov, Dsd.Mem(Stat(1), Rp), Dsd.Scalar(0));
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    var row = Dsd.Mem(Row(r), lv);
                    pe.Exec(VecOp.Sub, row, row, StatElem(0, r, lv));
                    pe.Exec(VecOp.Exp, row, row);
                    pe.Exec(VecOp.Add, StatElem(1, r, lv), row, StatElem(1, r, lv));
                }
            RowAllReduce.Start(pe, Stat(1), Rp, VecOp.Add, Completion.Activate(5));
        }, "exp-sum");
        BindLocalTask(5, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Div, Dsd.Mem(Stat(2), Rp), Dsd.Scalar(1), Dsd.Mem(Stat(1), Rp));
            if (lv > 0)
                for (int r = 0; r < rv; r++) { var row = Dsd.Mem(Row(r), lv); pe.Exec(VecOp.Mul, row, row, StatElem(2, r, lv)); }
        }, "scale");
    }

    /// <summary>Runs softmax over the rows of <paramref name="x"/> (R × L) on <paramref name="region"/>.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] x, int rows, int len)
        => RunRows(sim, region, new SoftmaxProgram(rows, len, region.Width, region.Height), x, null, null, "softmax");
}
