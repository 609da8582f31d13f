namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// The causal mask over rows of [..., Tq, Tk] scores (tensor x; row r is query r mod Tq): on each PE, one vector
/// instruction per row writes <c>fill</c> over the row's elements with k &gt; q + offset that the PE holds. PE-local.
/// </summary>
public sealed class CausalMaskProgram : RowTensorsProgram
{
    /// <summary>A mask of R rows of length Tk (R a multiple of Tq) on a w × h region.</summary>
    public CausalMaskProgram(int rows, int tk, int tq, long offset, float fill, int w, int h) : base(rows, tk, w, h, 1, 0, rowReduce: false, columnReduce: false)
    {
        BindLocalTask(0, pe =>
        {
            int rv = ValidRows(pe), lv = ValidLen(pe), c0 = pe.Lx * Lp;
            for (int r = 0; r < rv; r++)
            {
                long q = (pe.Ly * Rp + r) % tq;
                long first = Math.Max(c0, q + offset + 1);
                if (first >= c0 + lv) continue;
                pe.Exec(VecOp.Mov, Dsd.Mem(Row(0, r) + (int)(first - c0) * 4, (int)(c0 + lv - first)), Dsd.Scalar(fill));
            }
        }, "mask");
    }

    /// <summary>Masks the rows of <paramref name="x"/> (R × Tk) on <paramref name="region"/>.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] x, int rows, int tk, int tq, long offset, float fill)
    {
        var (o, _, c) = Run(sim, region, new CausalMaskProgram(rows, tk, tq, offset, fill, region.Width, region.Height), [x], [], 0, [], "causal-mask");
        return new KernelRun(c, o, sim.Stats(region));
    }
}
