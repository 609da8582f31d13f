namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Softmax backward over rows (layout of <see cref="RowTensorsProgram"/>; tensors y, g): local dot Σ g·y, all-reduce
/// along the PE row, then dx = (g − dot)·y in place of g — the rule of the IR's SoftmaxGrad.
/// </summary>
public sealed class SoftmaxGradProgram : RowTensorsProgram
{
    /// <summary>SoftmaxGrad of R rows of length L on a w × h region.</summary>
    public SoftmaxGradProgram(int rows, int len, int w, int h) : base(rows, len, w, h, 2, 0, rowReduce: true, columnReduce: false)
    {
        BindLocalTask(0, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Mov, StatVec(0), Dsd.Scalar(0));
            if (lv > 0)
                for (int r = 0; r < rv; r++) pe.Exec(VecOp.Fma, StatElem(0, r, lv), RowDsd(1, r, lv), RowDsd(0, r, lv));
            RowAllReduce.Start(pe, Stat(0), Rp, VecOp.Add, Completion.Activate(4));
        }, "dot");
        BindLocalTask(4, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    var g = RowDsd(1, r, lv);
                    pe.Exec(VecOp.Sub, g, g, StatElem(0, r, lv));
                    pe.Exec(VecOp.Mul, g, g, RowDsd(0, r, lv));
                }
        }, "dx");
    }

    /// <summary>Runs dx = y·(g − Σ g·y) over the rows of y and g (R × L) on <paramref name="region"/>.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] y, float[] g, int rows, int len)
    {
        var (o, _, c) = Run(sim, region, new SoftmaxGradProgram(rows, len, region.Width, region.Height), [y, g], [], 1, [], "softmax-grad");
        return new KernelRun(c, o, sim.Stats(region));
    }
}
