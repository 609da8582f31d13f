namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Log-softmax over rows (tensors x and a scratch): row max all-reduced, s = Σ exp(x − max) all-reduced, then
/// y = x − max − log s. The simulator has no log instruction: log s (one value per row) is a scalar software sequence
/// on the PE charged <see cref="FabricOptions.TranscendentalCost"/> per SIMD pass, like the other transcendentals.
/// </summary>
public sealed class LogSoftmaxProgram : RowTensorsProgram
{
    /// <summary>LogSoftmax of R rows of length L on a w × h region.</summary>
    public LogSoftmaxProgram(int rows, int len, int w, int h) : base(rows, len, w, h, 2, 0, rowReduce: true, columnReduce: false)
    {
        BindLocalTask(0, pe => ReduceRows(pe, 0, VecOp.Max, float.NegativeInfinity, 4), "max");
        BindLocalTask(4, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Mov, StatVec(1), Dsd.Scalar(0));
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    var x = RowDsd(0, r, lv); var e = RowDsd(1, r, lv);
                    pe.Exec(VecOp.Sub, x, x, StatElem(0, r, lv));
                    pe.Exec(VecOp.Exp, e, x);
                    pe.Exec(VecOp.Add, StatElem(1, r, lv), e, StatElem(1, r, lv));
                }
            RowAllReduce.Start(pe, Stat(1), Rp, VecOp.Add, Completion.Activate(5));
        }, "exp-sum");
        BindLocalTask(5, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            Log(pe, Stat(1), Rp);
            if (lv > 0)
                for (int r = 0; r < rv; r++) { var x = RowDsd(0, r, lv); pe.Exec(VecOp.Sub, x, x, StatElem(1, r, lv)); }
        }, "subtract-log");
    }

    // natural log of n floats in place: the PE's scalar software sequence (no vector log instruction)
    private static void Log(Pe pe, int address, int n)
    {
        var s = pe.F32(address, n);
        for (int i = 0; i < n; i++) s[i] = MathF.Log(s[i]);
        int simd = pe.Fabric.Spec.SimdWidth(Tensors.DType.Float32);
        pe.Spend(pe.Fabric.Options.IssueCycles + pe.Fabric.Options.TranscendentalCost * ((n + simd - 1) / simd));
    }

    /// <summary>Runs log-softmax over the rows of <paramref name="x"/> (R × L) on <paramref name="region"/>.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] x, int rows, int len)
    {
        var (o, _, c) = Run(sim, region, new LogSoftmaxProgram(rows, len, region.Width, region.Height), [x, null], [], 0, [], "log-softmax");
        return new KernelRun(c, o, sim.Stats(region));
    }
}

/// <summary>Log-softmax backward over rows (tensors y, g): s = Σ g all-reduced, then dx = g − exp(y)·s in place of y.</summary>
public sealed class LogSoftmaxGradProgram : RowTensorsProgram
{
    /// <summary>LogSoftmaxGrad of R rows of length L on a w × h region.</summary>
    public LogSoftmaxGradProgram(int rows, int len, int w, int h) : base(rows, len, w, h, 2, 0, rowReduce: true, columnReduce: false)
    {
        BindLocalTask(0, pe => ReduceRows(pe, 0, VecOp.Add, 0, 4, tensor: 1), "sum");
        BindLocalTask(4, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Mul, StatVec(0), StatVec(0), Dsd.Scalar(-1));
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    var y = RowDsd(0, r, lv);
                    pe.Exec(VecOp.Exp, y, y);
                    pe.Exec(VecOp.Mul, y, y, StatElem(0, r, lv));
                    pe.Exec(VecOp.Add, y, y, RowDsd(1, r, lv));
                }
        }, "dx");
    }

    /// <summary>Runs dx = g − exp(y)·Σ g over the rows of y and g (R × L) on <paramref name="region"/>.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] y, float[] g, int rows, int len)
    {
        var (o, _, c) = Run(sim, region, new LogSoftmaxGradProgram(rows, len, region.Width, region.Height), [y, g], [], 0, [], "log-softmax-grad");
        return new KernelRun(c, o, sim.Stats(region));
    }
}
