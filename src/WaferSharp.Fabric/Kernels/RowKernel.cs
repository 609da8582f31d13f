namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Forward row kernels (softmax, norms): one R × L row tensor and two length-L parameter vectors (γ, β) in the layout of
/// <see cref="RowTensorsProgram"/>, with the row all-reduce always present.
/// </summary>
public abstract class RowKernelProgram : RowTensorsProgram
{
    /// <summary>A row kernel for R rows of length L on a w × h region.</summary>
    protected RowKernelProgram(int rows, int len, int w, int h) : base(rows, len, w, h, tensors: 1, parameters: 2, rowReduce: true, columnReduce: false) { }

    /// <summary>Address of row r's slice.</summary>
    protected int Row(int r) => Row(0, r);

    /// <summary>Places R × L row-major <paramref name="x"/> (and optional length-L gamma/beta) on the region, runs, gathers.</summary>
    protected static KernelRun RunRows(FabricSimulator sim, Region region, RowKernelProgram prog, float[] x, float[]? gamma, float[]? beta, string name)
    {
        var (y, _, cycles) = Run(sim, region, prog, [x], [gamma, beta], 0, [], name);
        return new KernelRun(cycles, y, sim.Stats(region));
    }
}
