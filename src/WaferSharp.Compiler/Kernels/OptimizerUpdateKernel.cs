namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// The fused optimizer update (Adam/AdamW/SGD) on a parameter, where the parameter, its gradient and its moments are
/// resident on the same PEs: purely local, cycles = max(⌈e·flops/element / S⌉, SRAM reads, SRAM writes) with
/// e = ⌈elements / PEs⌉ (fp32 master values), + launch.
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
        var c = ElementwiseKernel.Stream(work, gw, gh, p, "local-fused-update");
        return c with { SramBytesPerPe = 0, Colors = 1 };
    }
}
