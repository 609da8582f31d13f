namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Embedding / gather (and their scatter-add gradients): the table is spread over the region; token ids are
/// broadcast to every PE (α·(w + h) + ids), owners send their rows to the output PEs, which is bounded by the
/// region's bisection: ⌈rows·row_bytes / (2·min(w, h)·link)⌉. The gradient also zeroes its table slice.
/// </summary>
public sealed class EmbeddingKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Embedding";

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        long rows = Math.Max(1, work.Rows), len = Math.Max(1, work.RowLength);
        long pes = (long)gw * gh;
        double bytes = (double)rows * len * p.ElementBytes;
        double ids = gw * gh > 1 ? p.Alpha * (gw + gh - 2) + p.Words(rows * 4.0) : 0;
        double move = pes > 1 ? Math.Ceiling(bytes / (2.0 * Math.Min(gw, gh) * p.LinkBytesPerCycle)) : Math.Ceiling(bytes / p.SramWriteBytesPerCycle);
        double zero = work.Scatter ? Math.Ceiling((double)Math.Max(1, work.TableRows) * len * 4 / pes / p.SramWriteBytesPerCycle) : 0;
        double add = work.Scatter ? Math.Ceiling((double)rows * len / pes / p.Lanes) : 0;
        double total = ids + move + zero + add + p.KernelOverheadCycles;
        return new KernelCost(total, add, ids + move, p.Alpha * (gw + gh - 2) + p.KernelOverheadCycles,
            ElementwiseKernel.FifoBytes, work.Scatter ? "scatter-add-bisection" : "gather-bisection", gw, gh, 3,
            $"table rows/PE={Div(Math.Max(1, work.TableRows), pes)}");
    }
}
