namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// The problem one kernel instance solves, in the terms its cost model needs. Contractions: <see cref="Batch"/>
/// problems C[M×N] = A[M×K]·B[K×N] (with <see cref="SharedB"/> the B operand — a weight — is shared and the batch
/// folds into M). Row ops (reductions, softmax, norms, embedding rows): <see cref="Rows"/> rows of
/// <see cref="RowLength"/>. Streaming ops: <see cref="Elements"/>, <see cref="Flops"/> and bytes at the compute precision.
/// </summary>
public readonly record struct KernelWork
{
    /// <summary>Independent contraction problems (attention: batch × heads).</summary>
    public long Batch { get; init; }
    /// <summary>Rows of A and C.</summary>
    public long M { get; init; }
    /// <summary>Columns of B and C (attention: key length Tk).</summary>
    public long N { get; init; }
    /// <summary>Contracted dimension (attention: head width D).</summary>
    public long K { get; init; }
    /// <summary>True when B is the same for all problems (a weight), so the batch folds into M.</summary>
    public bool SharedB { get; init; }
    /// <summary>
    /// True when B is a parameter: resident in layer-pipelined mode (and counted there), streamed through in panels in
    /// weight streaming. Either way the kernel's working set leaves out the B block each PE would own, and keeps only
    /// its receive buffers.
    /// </summary>
    public bool ResidentB { get; init; }
    /// <summary>
    /// Largest working set per PE before the kernel processes its output in chunks (0 = half of the PE's free SRAM).
    /// A weight-gradient GEMM feeding the fused optimizer update gets a small cap: each finished chunk of its fp32
    /// accumulator is consumed by the update at once, so the whole gradient never exists.
    /// </summary>
    public long WorkingCap { get; init; }
    /// <summary>Rows of a row-wise op.</summary>
    public long Rows { get; init; }
    /// <summary>Length of each row.</summary>
    public long RowLength { get; init; }
    /// <summary>Row all-reduces per row (softmax: max and sum = 2; RMSNorm: 1).</summary>
    public int RowReductions { get; init; }
    /// <summary>Which row program a row-family op runs (forward softmax/norm by default; the backward ops and the causal mask have their own cycle formulas).</summary>
    public RowOp RowOp { get; init; }
    /// <summary>Norm gradients: with γ (the dγ/dβ partial sums and their column reduce).</summary>
    public bool Affine { get; init; }
    /// <summary>Causal mask: queries Tq (row r is query r mod Tq).</summary>
    public long MaskQueries { get; init; }
    /// <summary>Causal mask: element (q, k) is masked where k &gt; q + offset.</summary>
    public long MaskOffset { get; init; }
    /// <summary>Embedding table rows (vocabulary).</summary>
    public long TableRows { get; init; }
    /// <summary>Output elements of a streaming op.</summary>
    public long Elements { get; init; }
    /// <summary>FLOPs (from the ops' cost rules).</summary>
    public double Flops { get; init; }
    /// <summary>Bytes read from SRAM or streams.</summary>
    public long BytesRead { get; init; }
    /// <summary>Bytes written.</summary>
    public long BytesWritten { get; init; }
    /// <summary>Layout kernels: the op moves data across the region (a transpose) rather than copying locally.</summary>
    public bool Transpose { get; init; }
    /// <summary>Scatter (gradient) direction of an embedding/gather.</summary>
    public bool Scatter { get; init; }
}

/// <summary>The row programs with their own cycle formulas (see <see cref="SoftmaxKernel"/>, <see cref="NormKernel"/>, <see cref="ElementwiseKernel"/>).</summary>
public enum RowOp
{
    /// <summary>The forward softmax, log-softmax, LayerNorm, RMSNorm (and cross-entropy): priced by <see cref="KernelWork.RowReductions"/>.</summary>
    Forward,
    /// <summary>dx = y·(g − Σ g·y): one all-reduce.</summary>
    SoftmaxGrad,
    /// <summary>dx = g − exp(y)·Σ g: one all-reduce.</summary>
    LogSoftmaxGrad,
    /// <summary>LayerNorm backward: three all-reduces (the third of two values per row) and, with γ, the dγ/dβ column reduce.</summary>
    LayerNormGrad,
    /// <summary>RMSNorm backward: two all-reduces and the dγ column reduce.</summary>
    RMSNormGrad,
    /// <summary>The causal mask as a row program: one fill instruction per row with masked elements on a PE.</summary>
    CausalMask,
}

/// <summary>What a cost model predicts for one kernel on one grid.</summary>
/// <param name="Cycles">Total cycles.</param>
/// <param name="ComputeCycles">Cycles of arithmetic (FMAC or elementwise) on the busiest PE.</param>
/// <param name="CommCycles">Cycles spent on the fabric that compute does not hide (hops, relays, link transfers).</param>
/// <param name="FixedCycles">The part that does not shrink with the amount of data (launch, hops, relays): paid once per micro-batch.</param>
/// <param name="SramBytesPerPe">Working buffers per PE (tiles, receive buffers), excluding resident weights.</param>
/// <param name="Algorithm">The mesh algorithm chosen.</param>
/// <param name="GridW">Width of the sub-grid used (≤ region width).</param>
/// <param name="GridH">Height of the sub-grid used.</param>
/// <param name="Colors">Colors the kernel uses inside its region.</param>
/// <param name="Tile">Tiling: per-PE tile (e.g. "Mt=64 Nt=32 Kt=16").</param>
public readonly record struct KernelCost(double Cycles, double ComputeCycles, double CommCycles, double FixedCycles,
    long SramBytesPerPe, string Algorithm, int GridW, int GridH, int Colors, string Tile)
{
    /// <summary>True when arithmetic accounts for most of the time.</summary>
    public bool ComputeBound => ComputeCycles >= CommCycles && ComputeCycles >= 0.5 * Cycles;
}
