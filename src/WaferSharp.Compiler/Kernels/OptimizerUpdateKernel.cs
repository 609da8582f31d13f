namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// The fused optimizer update (Adam/AdamW/SGD) on a parameter, where the parameter, its gradient and its moments are
/// resident on the same PEs: purely local, one SRAM vector pass per FLOP of an element (e = ⌈elements / PEs⌉, fp32
/// master values), the square root and the divide as software sequences, + issue + launch (calibrated on the fabric simulator).
/// </summary>
public sealed class OptimizerUpdateKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "OptimizerUpdate";
    /// <inheritdoc/>
    public override int MaxColors => 1;

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        // Adam: one vector instruction per FLOP of an element; two of them (sqrt, divide) are software sequences.
        // Master values, gradients and moments are fp32 whatever the compute precision.
        if (p.Precision != Precision.Fp32) p = p with { Lanes = p.Spec.Simd32, ElementBytes = 4 };
        long pes = (long)gw * gh;
        long n = Math.Max(1, work.Elements);
        long e = Div(n, pes);
        double instructions = Math.Max(1, Math.Round(work.Flops / n));
        double slow = instructions >= 12 ? 2 : 0;
        double compute = Math.Ceiling(e * ((instructions - slow) * p.PassCycles(2, true) + slow * p.TranscendentalCycles));
        double total = compute + instructions * p.IssueCycles + p.KernelOverheadCycles;
        return new KernelCost(total, compute, 0, p.KernelOverheadCycles, 0, "local-fused-update", gw, gh, 1, $"elements/PE={e}");
    }
}
