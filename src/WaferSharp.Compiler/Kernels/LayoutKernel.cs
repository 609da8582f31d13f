namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Data movement without arithmetic. Transposes cross the region: bounded by its bisection,
/// ⌈bytes / (2·min(w, h)·link)⌉ + α·(w + h). Slices, concatenations, splits and expands are local copies (the
/// streaming model of <see cref="ElementwiseKernel"/> with no FLOPs). Pure views (reshape, squeeze, flatten) have
/// no kernel at all.
/// </summary>
public sealed class LayoutKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Layout";

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        if (!work.Transpose) return ElementwiseKernel.Stream(work, gw, gh, p, "local-copy");
        double bytes = Math.Max(1, work.BytesRead);
        long pes = (long)gw * gh;
        double move = pes > 1 ? Math.Ceiling(bytes / (2.0 * Math.Min(gw, gh) * p.LinkBytesPerCycle)) : Math.Ceiling(bytes / p.SramWriteBytesPerCycle);
        double lat = p.Alpha * (gw + gh - 2);
        return new KernelCost(move + lat + p.KernelOverheadCycles, 0, move + lat, lat + p.KernelOverheadCycles,
            ElementwiseKernel.FifoBytes, "mesh-transpose-bisection", gw, gh, 4, $"bytes/PE={Math.Ceiling(bytes / pes)}");
    }
}
