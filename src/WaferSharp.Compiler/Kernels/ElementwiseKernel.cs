namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Elementwise ops and fused elementwise chains, streamed through each PE: e = ⌈elements / PEs⌉ per PE; one vector
/// instruction per FLOP of an element, each an SRAM pass at the slowest of the SIMD lanes, the read port and the write
/// port: cycles = flops_per_element · e · pass + issue + launch (calibrated on the fabric simulator). Operands arrive and leave as fabric streams, so only a FIFO's worth of SRAM is needed.
/// </summary>
public sealed class ElementwiseKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Elementwise";
    /// <inheritdoc/>
    public override int MaxColors => 2;

    /// <summary>SRAM of a streaming FIFO per PE.</summary>
    public const long FifoBytes = 1024;

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p) =>
        work.RowOp == RowOp.CausalMask ? RowProgramCycles.Of(work, gw, gh, p) : Stream(work, gw, gh, p, "fused-chain-stream");

    internal static KernelCost Stream(in KernelWork work, int gw, int gh, CostParams p, string algorithm)
    {
        long pes = (long)gw * gh;
        long n = Math.Max(1, work.Elements);
        long e = Div(n, pes);
        double frac = (double)e / n;
        // one vector instruction per FLOP of an element; each is an SRAM pass bounded by the SIMD lanes and the ports
        double instructions = Math.Max(1, Math.Round(work.Flops / n));
        double compute = Math.Ceiling(instructions * e * p.PassCycles(2, true));
        double read = Math.Ceiling(work.BytesRead * frac / p.SramReadBytesPerCycle);
        double write = Math.Ceiling(work.BytesWritten * frac / p.SramWriteBytesPerCycle);
        double total = Math.Max(compute, Math.Max(read, write)) + instructions * p.IssueCycles + p.KernelOverheadCycles;
        long sram = Math.Min(FifoBytes, (long)Math.Ceiling((work.BytesRead + work.BytesWritten) * frac));
        return new KernelCost(total, compute, 0, p.KernelOverheadCycles, sram, algorithm, gw, gh, 2, $"elements/PE={e}");
    }
}
