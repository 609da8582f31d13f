namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Matrix-vector products (M ≤ a few rows, e.g. decode) in the MeshGEMV style: the weight B[K×N] is tiled
/// ⌈K/w⌉ × ⌈N/h⌉ per PE; x slices are multicast down columns (α·(h − 1) + words), each PE does a local GEMV of
/// M·Kt·Nt / S cycles, and the partial y (M·Nt values) is reduced toward each row's center by two pipelined chains
/// (a two-branch tree: 3·⌊w/2⌋ + 2·words). Calibrated on the fabric simulator (docs/FIDELITY.md).
/// </summary>
public sealed class GemvKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Gemv";
    /// <inheritdoc/>
    public override int MaxColors => 4;

    /// <summary>Largest M (rows of x) for which the library picks GEMV over GEMM.</summary>
    public const long MaxRows = 4;

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        long m = Math.Max(1, work.Batch) * Math.Max(1, work.M);
        long kt = Div(Math.Max(1, work.K), gw), nt = Div(Math.Max(1, work.N), gh);
        double local = Math.Ceiling((double)m * kt * nt / p.Lanes) + p.IssueCycles;
        double xWords = gh > 1 ? m * kt : 0; // one element per wavelet
        double bcast = gh > 1 ? p.Alpha * (gh - 1) + 2 + p.TaskStartCycles : 0;
        double reduce = LineReduce(gw, m * nt, p, broadcast: false);
        double total = xWords + bcast + local + reduce + p.KernelOverheadCycles;
        double fixedPart = bcast + (gw > 1 ? p.ChainStageCycles * (gw / 2) + p.TaskStartCycles : 0) + p.KernelOverheadCycles;
        long sram = (m * kt + 2 * m * nt) * p.ElementBytes;
        return new KernelCost(total, local, Math.Max(0, xWords - local) + bcast + reduce, fixedPart, sram,
            "meshgemv-ktree", gw, gh, gw > 1 ? 4 : 1, $"Kt={kt} Nt={nt} rows={m}");
    }
}
