namespace WaferSharp.Gpu;

/// <summary>Arithmetic precision of the tensor-core GEMMs in a training or inference run.</summary>
public enum Precision
{
    /// <summary>BF16/FP16 inputs, FP32 accumulation (the mixed-precision default).</summary>
    Bf16,
    /// <summary>FP8 GEMMs (Transformer Engine style); activations and weights kept in 16 bits elsewhere.</summary>
    Fp8,
    /// <summary>TF32 tensor cores (FP32 storage).</summary>
    Tf32,
}

/// <summary>
/// One GPU model's datasheet constants. Rates are dense (no 2:4 sparsity). Every value and its public source is
/// listed in docs/HARDWARE.md ("GPUs and clusters").
/// </summary>
/// <param name="Name">Catalog key ("a100-80gb", "h100", …).</param>
/// <param name="DisplayName">Marketing name.</param>
/// <param name="Bf16Flops">Dense BF16/FP16 tensor-core peak, FLOP/s.</param>
/// <param name="Fp8Flops">Dense FP8 peak, FLOP/s (0 where the part has no FP8 tensor cores).</param>
/// <param name="Tf32Flops">Dense TF32 peak, FLOP/s.</param>
/// <param name="HbmBytes">HBM capacity as the driver reports it, bytes (80 GB parts expose 80 GiB).</param>
/// <param name="HbmBandwidth">HBM bandwidth, bytes/s.</param>
/// <param name="NvlinkBandwidth">NVLink bandwidth per GPU, each direction, bytes/s (half the datasheet's bidirectional figure).</param>
/// <param name="NicBandwidth">Scale-out NIC bandwidth per GPU, each direction, bytes/s.</param>
/// <param name="TdpWatts">Board power (TDP), W.</param>
/// <param name="Sms">Streaming multiprocessors (for GEMM wave quantization).</param>
/// <param name="NodePowerWatts">Maximum power of the 8-GPU DGX/HGX system it ships in, W (GPUs, CPUs, NICs, fans).</param>
/// <param name="PricePerHour">Default price per GPU-hour, USD (a parameter; see docs/HARDWARE.md).</param>
public sealed record GpuSpec(
    string Name,
    string DisplayName,
    double Bf16Flops,
    double Fp8Flops,
    double Tf32Flops,
    double HbmBytes,
    double HbmBandwidth,
    double NvlinkBandwidth,
    double NicBandwidth,
    double TdpWatts,
    int Sms,
    double NodePowerWatts,
    double PricePerHour)
{
    /// <summary>Dense tensor-core peak for a precision; throws when the part lacks it.</summary>
    public double PeakFlops(Precision p) => p switch
    {
        Precision.Bf16 => Bf16Flops,
        Precision.Tf32 => Tf32Flops,
        Precision.Fp8 => Fp8Flops > 0 ? Fp8Flops
            : throw new NotSupportedException($"{DisplayName} has no FP8 tensor cores; use --precision bf16"),
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };
}

/// <summary>The GPU presets (nodes of 8 with NVSwitch; one scale-out NIC per GPU on a non-blocking fat tree).</summary>
public static class GpuCatalog
{
    private const double T = 1e12, GB = 1e9, GiB = 1L << 30;

    /// <summary>Every preset, in listing order.</summary>
    public static IReadOnlyList<GpuSpec> All { get; } =
    [
        // A100 SXM4 datasheet: 312 TF BF16 dense, 156 TF TF32, 40 GB HBM2 @ 1,555 GB/s, NVLink 3 600 GB/s (300 each way),
        // 400 W; DGX A100: 8 × HDR 200 Gb/s, 6.5 kW max. 108 SMs.
        new("a100-40gb", "A100 SXM4 40GB", 312 * T, 0, 156 * T, 40 * GiB, 1555 * GB, 300 * GB, 25 * GB, 400, 108, 6500, 1.29),
        new("a100-80gb", "A100 SXM4 80GB", 312 * T, 0, 156 * T, 80 * GiB, 2039 * GB, 300 * GB, 25 * GB, 400, 108, 6500, 1.79),
        // H100 SXM5: 989 TF BF16 dense, 1,979 FP8, 495 TF32, 80 GB HBM3 @ 3.35 TB/s, NVLink 4 900 GB/s, 700 W; DGX H100:
        // 8 × ConnectX-7 NDR 400 Gb/s, 10.2 kW max. 132 SMs.
        new("h100", "H100 SXM5 80GB", 989 * T, 1979 * T, 495 * T, 80 * GiB, 3350 * GB, 450 * GB, 50 * GB, 700, 132, 10200, 2.99),
        // H200 SXM: H100 compute with 141 GB HBM3e @ 4.8 TB/s.
        new("h200", "H200 SXM 141GB", 989 * T, 1979 * T, 495 * T, 140 * GiB, 4800 * GB, 450 * GB, 50 * GB, 700, 132, 10200, 3.79),
        // B200 (HGX): 2,250 TF BF16 dense, 4,500 FP8, ~1,100 TF32 [uncertain], 180 GB usable @ 8 TB/s, NVLink 5 1.8 TB/s,
        // 1,000 W; DGX B200: 8 × ConnectX-7 400 Gb/s, 14.3 kW max. 148 SMs [uncertain].
        new("b200", "B200 (HGX) 180GB", 2250 * T, 4500 * T, 1100 * T, 179 * GiB, 8000 * GB, 900 * GB, 50 * GB, 1000, 148, 14300, 4.99),
    ];

    /// <summary>The preset names.</summary>
    public static IReadOnlyList<string> Names => All.Select(g => g.Name).ToList();

    /// <summary>Looks up a preset (case-insensitive; "a100" means a100-80gb, "h100-sxm" means h100).</summary>
    public static GpuSpec Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().ToLowerInvariant() switch
        {
            "a100" or "a100-80g" or "a100_80g" => "a100-80gb",
            "a100-40g" or "a100_40g" => "a100-40gb",
            "h100-sxm" or "h100-80gb" or "h100_80g" => "h100",
            var k => k,
        };
        return All.FirstOrDefault(g => g.Name == key)
            ?? throw new KeyNotFoundException($"unknown GPU \"{name}\"; valid: {string.Join(", ", Names)}");
    }

    internal static double Gib(double bytes) => bytes / GiB;
}
