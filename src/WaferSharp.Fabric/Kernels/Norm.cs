namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// LayerNorm (y = (x − mean)·rstd·γ + β, two row all-reduces: the sum, then the centered sum of squares) and RMSNorm
/// (y = x·rstd·γ, one all-reduce of the sum of squares) on a region in the layout of <see cref="RowKernelProgram"/>.
/// </summary>
public sealed class NormProgram : RowKernelProgram
{
    private readonly bool _rms;
    private readonly float _eps;

    /// <summary>A LayerNorm (or RMSNorm when <paramref name="rms"/>) of R rows of length L on a w × h region.</summary>
    public NormProgram(int rows, int len, int w, int h, bool rms, float eps) : base(rows, len, w, h)
    {
        _rms = rms; _eps = eps;
        BindLocalTask(0, pe =>
        {
            if (_rms) SumSquares(pe); else ReduceRows(pe, 0, VecOp.Add, 0, 4);
        }, "sum");
        BindLocalTask(4, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Mul, Dsd.Mem(Stat(0), Rp), Dsd.Mem(Stat(0), Rp), Dsd.Scalar(1f / RowLength));
            if (lv > 0)
                for (int r = 0; r < rv; r++) { var row = Dsd.Mem(Row(r), lv); pe.Exec(VecOp.Sub, row, row, StatElem(0, r, lv)); }
            SumSquares(pe);
        }, "center");
        BindLocalTask(5, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            var q = Dsd.Mem(Stat(1), Rp);
            pe.Exec(VecOp.Mul, q, q, Dsd.Scalar(1f / RowLength));
            pe.Exec(VecOp.Add, q, q, Dsd.Scalar(_eps));
            pe.Exec(VecOp.Rsqrt, q, q);
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    var row = Dsd.Mem(Row(r), lv);
                    pe.Exec(VecOp.Mul, row, row, StatElem(1, r, lv));
                    pe.Exec(VecOp.Mul, row, row, Dsd.Mem(Param(0), lv));
                    if (!_rms) pe.Exec(VecOp.Add, row, row, Dsd.Mem(Param(1), lv));
                }
        }, "normalize");
    }

    private void SumSquares(Pe pe)
    {
        int rv = ValidRows(pe), lv = ValidLen(pe);
        pe.Exec(VecOp.Mov, Dsd.Mem(Stat(1), Rp), Dsd.Scalar(0));
        if (lv > 0)
            for (int r = 0; r < rv; r++) { var row = Dsd.Mem(Row(r), lv); pe.Exec(VecOp.Fma, StatElem(1, r, lv), row, row); }
        RowAllReduce.Start(pe, Stat(1), Rp, VecOp.Add, Completion.Activate(5));
    }

    /// <summary>Runs LayerNorm (or RMSNorm) over the rows of <paramref name="x"/> (R × L) with γ (and β).</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] x, int rows, int len, float[] gamma, float[]? beta, bool rms, float eps = 1e-5f)
        => RunRows(sim, region, new NormProgram(rows, len, region.Width, region.Height, rms, eps), x, gamma, rms ? null : beta, rms ? "rmsnorm" : "layernorm");
}
