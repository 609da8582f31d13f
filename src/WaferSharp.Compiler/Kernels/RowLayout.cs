namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// How row-wise kernels (reductions, softmax, norms) lay rows out: rows across the grid's height and each row across
/// its width when there are at least as many rows as PE rows; otherwise rows and elements are spread over the whole
/// grid and the row reduction spans both axes.
/// </summary>
internal static class RowLayout
{
    /// <summary>Per-PE rows and row elements, and the all-reduce cost of one value per row.</summary>
    public static (long RowsPerPe, long ElemsPerPe, double ReduceCycles, double ReduceFixed) Of(long rows, long len, int gw, int gh, CostParams p, int elemBytes)
    {
        rows = Math.Max(1, rows); len = Math.Max(1, len);
        if (rows >= gh)
        {
            long rp = (rows + gh - 1) / gh, lp = (len + gw - 1) / gw;
            double red = MeshKernel.AllReduce(gw, rp * (double)elemBytes, p);
            double fix = MeshKernel.AllReduce(gw, 0, p);
            return (rp, lp, red, fix);
        }
        // few rows: each row gets a band of ⌊gh/rows⌋ PE rows; reduce along the band's width, then its height
        long band = gh / rows;
        long lp2 = (len + gw * band - 1) / (gw * band);
        double red2 = MeshKernel.AllReduce(gw, elemBytes, p) + MeshKernel.AllReduce(band, elemBytes, p);
        double fix2 = MeshKernel.AllReduce(gw, 0, p) + MeshKernel.AllReduce(band, 0, p);
        return (1, lp2, red2, fix2);
    }

    /// <summary>All-reduce cycles of <paramref name="values"/> statistics per row (the row layout of <see cref="Of"/>).</summary>
    public static double ReduceCycles(long rows, int gw, int gh, int values, CostParams p, int elemBytes)
    {
        rows = Math.Max(1, rows);
        if (rows >= gh) return MeshKernel.AllReduce(gw, (rows + gh - 1) / gh * (double)values * elemBytes, p);
        long band = gh / rows;
        return MeshKernel.AllReduce(gw, values * elemBytes, p) + MeshKernel.AllReduce(band, values * elemBytes, p);
    }
}
