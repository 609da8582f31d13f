namespace WaferSharp.Fabric.Kernels;

/// <summary>The outcome of one kernel run on the simulator.</summary>
/// <param name="Cycles">Cycles from launch to the last activity of the kernel.</param>
/// <param name="Output">The result gathered back into row-major order (kernel-specific shape).</param>
/// <param name="Stats">Fabric counters at the end of the run.</param>
public sealed record KernelRun(long Cycles, float[] Output, FabricStats Stats);

/// <summary>Helpers to lay tensors out on PEs.</summary>
internal static class Layout
{
    public static int Div(long a, long b) => (int)((a + b - 1) / b);
}
