namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// LayerNorm and RMSNorm backward over rows (layout of <see cref="RowTensorsProgram"/>; tensors g, x and a scratch;
/// parameters γ, dγ, dβ), the rules of the IR's LayerNormGrad and RMSNormGrad with the statistics recomputed from x.
/// LayerNorm: mean and rstd by two row all-reduces, x̂ = (x − mean)·rstd, ĝ = g·γ, one all-reduce of Σ ĝ and Σ ĝ·x̂,
/// dx = (ĝ − x̂·mean(ĝ·x̂) − mean(ĝ))·rstd. RMSNorm: r = rsqrt(mean(x²) + ε), ĝ = g·γ, one all-reduce of Σ ĝ·x,
/// dx = ĝ·r − x·r³·mean(ĝ·x). The parameter gradients (dγ = Σ_rows g·x̂, dβ = Σ_rows g; RMS: dγ = Σ_rows g·x·r) are
/// summed over each PE's rows, then down the PE columns by a <see cref="ColumnChainReduce"/>.
/// </summary>
public sealed class NormGradProgram : RowTensorsProgram
{
    private const int G = 0, X = 1, T = 2;
    private const int Gamma = 0, DGamma = 1, DBeta = 2;
    private readonly bool _rms, _affine;
    private readonly float _eps;

    /// <summary>A LayerNormGrad (or RMSNormGrad when <paramref name="rms"/>) of R rows of length L on a w × h region; <paramref name="affine"/>: with γ (and the parameter gradients).</summary>
    public NormGradProgram(int rows, int len, int w, int h, bool rms, bool affine, float eps)
        : base(rows, len, w, h, 3, affine ? (rms ? 2 : 3) : 0, rowReduce: true, columnReduce: affine)
    {
        _rms = rms; _affine = affine || rms; _eps = eps;
        if (rms && !affine) throw new ArgumentException("RMSNormGrad needs the weight");
        BindLocalTask(0, pe =>
        {
            if (_rms) { SumSquares(pe); return; }
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Mov, StatVec(0), Dsd.Scalar(0));
            if (lv > 0)
                for (int r = 0; r < rv; r++) pe.Exec(VecOp.Add, StatElem(0, r, lv), RowDsd(X, r, lv), StatElem(0, r, lv));
            RowAllReduce.Start(pe, Stat(0), Rp, VecOp.Add, Completion.Activate(4));
        }, "sum");
        BindLocalTask(4, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Div, StatVec(0), StatVec(0), Dsd.Scalar(RowLength));
            if (lv > 0)
                for (int r = 0; r < rv; r++) { var x = RowDsd(X, r, lv); pe.Exec(VecOp.Sub, x, x, StatElem(0, r, lv)); }
            SumSquares(pe);
        }, "center");
        BindLocalTask(5, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            // stat 1: rstd = 1/√(Σx²/L + ε)
            var q = StatVec(1);
            pe.Exec(VecOp.Div, q, q, Dsd.Scalar(RowLength));
            pe.Exec(VecOp.Add, q, q, Dsd.Scalar(_eps));
            pe.Exec(VecOp.Rsqrt, q, q);
            pe.Exec(VecOp.Mov, Dsd.Mem(Stat(2), 2 * Rp), Dsd.Scalar(0));
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    Dsd g = RowDsd(G, r, lv), x = RowDsd(X, r, lv), t = RowDsd(T, r, lv), rs = StatElem(1, r, lv);
                    if (_affine) pe.Exec(VecOp.Mul, t, g, Dsd.Mem(Param(Gamma), lv)); else pe.Exec(VecOp.Mov, t, g);
                    if (_rms)
                    {
                        pe.Exec(VecOp.Fma, StatElem(2, r, lv), t, x);
                        // dγ partial: Σ g·x·r
                        pe.Exec(VecOp.Mul, g, g, x);
                        pe.Exec(VecOp.Fma, Dsd.Mem(Param(DGamma), lv), g, rs);
                    }
                    else
                    {
                        pe.Exec(VecOp.Mul, x, x, rs); // x̂
                        pe.Exec(VecOp.Add, StatElem(2, r, lv), t, StatElem(2, r, lv));
                        pe.Exec(VecOp.Fma, StatElem(3, r, lv), t, x);
                        if (_affine)
                        {
                            pe.Exec(VecOp.Fma, Dsd.Mem(Param(DGamma), lv), g, x);
                            pe.Exec(VecOp.Add, Dsd.Mem(Param(DBeta), lv), Dsd.Mem(Param(DBeta), lv), g);
                        }
                    }
                }
            // RMS reduces Σ ĝ·x (stat 2); LayerNorm Σ ĝ and Σ ĝ·x̂ (stats 2 and 3, adjacent) in one all-reduce. The
            // parameter partials are complete: their column reduce (other colors) overlaps the all-reduce and dx.
            RowAllReduce.Start(pe, Stat(2), _rms ? Rp : 2 * Rp, VecOp.Add, Completion.Activate(6));
            ColumnReduce?.Start(pe, Param(DGamma), (_rms ? 1 : 2) * Lp, Completion.None);
        }, "grad-stats");
        BindLocalTask(6, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe);
            pe.Exec(VecOp.Div, Dsd.Mem(Stat(2), 2 * Rp), Dsd.Mem(Stat(2), 2 * Rp), Dsd.Scalar(RowLength));
            if (_rms)
            {
                // stat 3: −r³·mean(ĝ·x)
                var c = StatVec(3);
                pe.Exec(VecOp.Mul, c, StatVec(1), Dsd.Scalar(-1));
                pe.Exec(VecOp.Mul, c, c, StatVec(1));
                pe.Exec(VecOp.Mul, c, c, StatVec(1));
                pe.Exec(VecOp.Mul, c, c, StatVec(2));
            }
            if (lv > 0)
                for (int r = 0; r < rv; r++)
                {
                    Dsd x = RowDsd(X, r, lv), t = RowDsd(T, r, lv);
                    if (_rms)
                    {
                        pe.Exec(VecOp.Mul, t, t, StatElem(1, r, lv));
                        pe.Exec(VecOp.Mul, x, x, StatElem(3, r, lv));
                        pe.Exec(VecOp.Add, t, t, x);
                    }
                    else
                    {
                        pe.Exec(VecOp.Mul, x, x, StatElem(3, r, lv));
                        pe.Exec(VecOp.Sub, t, t, x);
                        pe.Exec(VecOp.Sub, t, t, StatElem(2, r, lv));
                        pe.Exec(VecOp.Mul, t, t, StatElem(1, r, lv));
                    }
                }
        }, "dx");
    }

    private void SumSquares(Pe pe)
    {
        int rv = ValidRows(pe), lv = ValidLen(pe);
        pe.Exec(VecOp.Mov, StatVec(1), Dsd.Scalar(0));
        if (lv > 0)
            for (int r = 0; r < rv; r++) { var x = RowDsd(X, r, lv); pe.Exec(VecOp.Fma, StatElem(1, r, lv), x, x); }
        RowAllReduce.Start(pe, Stat(1), Rp, VecOp.Add, Completion.Activate(5));
    }

    /// <summary>
    /// Runs the backward of LayerNorm (or RMSNorm) for upstream gradient <paramref name="g"/> and input <paramref name="x"/>
    /// (R × L) with γ (null: no affine, LayerNorm only); returns dx and, with γ, dγ (and LayerNorm's dβ).
    /// </summary>
    public static (float[] Dx, float[][] ParamGrads, long Cycles) Run(FabricSimulator sim, Region region, float[] g, float[] x, int rows, int len,
        float[]? gamma, bool rms, float eps)
    {
        bool affine = gamma != null;
        var prog = new NormGradProgram(rows, len, region.Width, region.Height, rms, affine, eps);
        float[]?[] ps = !affine ? [] : rms ? [gamma, null] : [gamma, null, null];
        int[] sums = !affine ? [] : rms ? [DGamma] : [DGamma, DBeta];
        var (dx, parts, c) = Run(sim, region, prog, [g, x, null], ps, T, sums, rms ? "rmsnorm-grad" : "layernorm-grad");
        return (dx, parts, c);
    }
}
