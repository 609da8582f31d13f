namespace WaferSharp.Gpu;

/// <summary>
/// A GPU cluster: nodes of <see cref="GpusPerNode"/> GPUs joined by NVSwitch, one scale-out NIC per GPU on a
/// non-blocking fat tree, plus the cost model's efficiency constants. Defaults are stated and sourced in
/// docs/HARDWARE.md; prices and power are parameters.
/// </summary>
public sealed record ClusterSpec
{
    /// <summary>The GPU.</summary>
    public required GpuSpec Gpu { get; init; }

    /// <summary>GPUs per NVSwitch node (DGX/HGX: 8).</summary>
    public int GpusPerNode { get; init; } = 8;

    /// <summary>
    /// Sustained fraction of the dense tensor-core peak that a large, well-shaped GEMM reaches inside a training
    /// run (clock limits at TDP, cuBLAS tile efficiency, launch gaps). Smaller GEMMs lose further through wave
    /// quantization and the HBM roofline. One value for every row of both validation sets (docs/FIDELITY.md).
    /// </summary>
    public double GemmEfficiency { get; init; } = 0.75;

    /// <summary>Fraction of HBM bandwidth a streaming (memory-bound) kernel reaches; STREAM-like kernels measure 85–90%.</summary>
    public double HbmEfficiency { get; init; } = 0.85;

    /// <summary>NCCL bus bandwidth over NVLink as a fraction of the link rate (nccl-tests on DGX A100: ~0.75; Calculon uses 0.65).</summary>
    public double NvlinkEfficiency { get; init; } = 0.70;

    /// <summary>NCCL bus bandwidth over InfiniBand as a fraction of the NIC rate (Calculon uses 0.9).</summary>
    public double NicEfficiency { get; init; } = 0.85;

    /// <summary>
    /// Latency α of one ring step over NVSwitch, s. An 8-GPU all-reduce takes 2(n−1) = 14 steps, ≈ 20 µs for a small
    /// message, in line with nccl-tests' small-message all-reduce times on DGX systems (Calculon charges 10 µs once per collective).
    /// </summary>
    public double NvlinkLatency { get; init; } = 1.5e-6;

    /// <summary>Latency α of one ring step across the InfiniBand fat tree, s (a switch hop plus NIC and PCIe, ≈ 5 µs).</summary>
    public double NicLatency { get; init; } = 5e-6;

    /// <summary>Fixed cost per kernel (launch and tail), s.</summary>
    public double KernelOverhead { get; init; } = 4e-6;

    /// <summary>GEMM output tile edge used for wave quantization (cuBLAS/CUTLASS 128×128 tiles).</summary>
    public int GemmTile { get; init; } = 128;

    /// <summary>Memory the framework cannot use for tensors (CUDA context, NCCL and cuBLAS workspaces, fragmentation), bytes.</summary>
    public double ReservedBytes { get; init; } = 2.0 * (1L << 30);

    /// <summary>Price per GPU-hour, USD (default from the preset).</summary>
    public double? PricePerGpuHour { get; init; }

    /// <summary>GPU power while idle or waiting on communication, as a fraction of TDP.</summary>
    public double IdlePowerFraction { get; init; } = 0.3;

    /// <summary>The effective price per GPU-hour.</summary>
    public double Price => PricePerGpuHour ?? Gpu.PricePerHour;

    /// <summary>A cluster of the named GPU with default constants.</summary>
    public static ClusterSpec Of(string gpu) => new() { Gpu = GpuCatalog.Get(gpu) };

    /// <summary>A cluster of the GPU with default constants.</summary>
    public static ClusterSpec Of(GpuSpec gpu) => new() { Gpu = gpu };
}
