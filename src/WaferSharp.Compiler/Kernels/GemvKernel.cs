namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Matrix-vector products (M ≤ a few rows, e.g. decode) in the MeshGEMV style: the weight B[K×N] is tiled
/// ⌈K/w⌉ × ⌈N/h⌉ per PE; x slices are multicast down columns (α·h + words, hidden behind compute), each PE does
/// a local GEMV of M·Kt·Nt / S cycles, and the partial y (M·Nt values) is all-reduced along each row with a
/// K = 2 tree: α·w + β·⌈√w⌉ + 2·words.
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
        double local = Math.Ceiling((double)m * kt * nt / p.Lanes);
        double xWords = gh > 1 ? p.Words(m * kt * (double)p.ElementBytes) : 0;
        double bcast = gh > 1 ? p.Alpha * (gh - 1) : 0;
        double reduce = AllReduce(gw, m * nt * (double)p.ElementBytes, p);
        double total = Math.Max(local, xWords) + bcast + reduce + p.KernelOverheadCycles;
        double fixedPart = bcast + (gw > 1 ? p.Alpha * gw + p.Beta * Math.Ceiling(Math.Sqrt(gw)) : 0) + p.KernelOverheadCycles;
        long sram = (m * kt + 2 * m * nt) * p.ElementBytes;
        return new KernelCost(total, local, Math.Max(0, xWords - local) + bcast + reduce, fixedPart, sram,
            "meshgemv-ktree", gw, gh, gw > 1 ? 4 : 1, $"Kt={kt} Nt={nt} rows={m}");
    }
}
