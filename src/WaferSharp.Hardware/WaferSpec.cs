using System.Globalization;
using WaferSharp.Tensors;

namespace WaferSharp.Hardware;

/// <summary>
/// One wafer-scale engine as the compiler and simulators see it: a W × H mesh of processing elements (PEs), each
/// with private SRAM, a SIMD FMAC datapath and a 5-port router. Constants and their public sources are listed in
/// docs/HARDWARE.md ("Wafer-scale engines"); values the sources disagree on are parameters with stated defaults.
/// </summary>
/// <param name="Name">Preset name ("wse3", "wse2", "mesh:32x32").</param>
/// <param name="Width">Fabric width in PEs (the SDK-visible logical fabric).</param>
/// <param name="Height">Fabric height in PEs.</param>
/// <param name="ProgramX">West edge of the usable program rectangle (memcpy halo offset; 0 for simulator meshes).</param>
/// <param name="ProgramY">North edge of the usable program rectangle.</param>
/// <param name="ProgramWidth">Width of the usable program rectangle (fabric − 7 columns on real wafers).</param>
/// <param name="ProgramHeight">Height of the usable program rectangle (fabric − 2 rows on real wafers).</param>
/// <param name="PeSramBytes">SRAM per PE (48 KiB).</param>
/// <param name="Simd16">16-bit (fp16/bf16) FMACs per PE per cycle.</param>
/// <param name="Simd32">fp32 FMACs per PE per cycle; not published, default half of <paramref name="Simd16"/>.</param>
/// <param name="ClockHz">Clock; 0.85 GHz (SDK scripts) vs 1.1 GHz (Hot Chips 34) — default 0.85 GHz.</param>
/// <param name="RouterColors">Routable colors (virtual channels) per router.</param>
/// <param name="ReservedColors">Colors the runtime keeps for itself (memcpy, host I/O).</param>
/// <param name="WaveletBits">Payload bits per wavelet.</param>
/// <param name="LinkWaveletsPerCycle">Wavelets per link per direction per cycle.</param>
/// <param name="HopCycles">Router-forwarded latency per hop (α).</param>
/// <param name="RelayCycles">Software relay stage latency (β): a PE receives, re-parses and re-injects a message. The reference says "tens of cycles"; 12 is what our fabric simulator measures (docs/FIDELITY.md).</param>
/// <param name="SramReadBytesPerCycle">SRAM read bandwidth per PE (2 × 64-bit ports).</param>
/// <param name="SramWriteBytesPerCycle">SRAM write bandwidth per PE (1 × 64-bit port).</param>
/// <param name="IoChannelsPerEdge">Host I/O channels on each of the east and west edges.</param>
/// <param name="IoChannelsUsable">I/O channels the runtime uses at most.</param>
/// <param name="PeakWattsPerPe">Peak power of one PE (30 mW on WSE-2).</param>
public sealed record WaferSpec(
    string Name,
    int Width,
    int Height,
    int ProgramX,
    int ProgramY,
    int ProgramWidth,
    int ProgramHeight,
    int PeSramBytes = 48 * 1024,
    int Simd16 = 8,
    int Simd32 = 4,
    double ClockHz = 0.85e9,
    int RouterColors = 24,
    int ReservedColors = 6,
    int WaveletBits = 32,
    int LinkWaveletsPerCycle = 1,
    int HopCycles = 1,
    int RelayCycles = 12,
    int SramReadBytesPerCycle = 16,
    int SramWriteBytesPerCycle = 8,
    int IoChannelsPerEdge = 62,
    int IoChannelsUsable = 16,
    double PeakWattsPerPe = 0.030)
{
    /// <summary>All PEs of the fabric.</summary>
    public long PeCount => (long)Width * Height;

    /// <summary>PEs of the usable program rectangle.</summary>
    public long ProgramPeCount => (long)ProgramWidth * ProgramHeight;

    /// <summary>Bytes per wavelet payload.</summary>
    public int WaveletBytes => WaveletBits / 8;

    /// <summary>Colors left for compiled programs after the runtime's reservation.</summary>
    public int UsableColors => RouterColors - ReservedColors;

    /// <summary>FMACs per PE per cycle for a dtype (16-bit floats use <see cref="Simd16"/>, others <see cref="Simd32"/>).</summary>
    public int SimdWidth(DType dtype) => dtype is DType.Float16 or DType.BFloat16 ? Simd16 : Simd32;

    /// <summary>Dense peak FLOP/s of the usable program rectangle for a dtype (an FMAC is 2 FLOPs).</summary>
    public double PeakFlopsPerSecond(DType dtype) => ProgramPeCount * (double)SimdWidth(dtype) * 2 * ClockHz;

    /// <summary>Total SRAM of the program rectangle.</summary>
    public long ProgramSramBytes => ProgramPeCount * PeSramBytes;

    /// <summary>WSE-3 (CS-3): the SDK's 762 × 1172 fabric, usable rectangle 755 × 1170 at offset (4, 1), 8-wide fp16 SIMD.</summary>
    public static WaferSpec Wse3 { get; } = new("wse3", 762, 1172, 4, 1, 755, 1170, Simd16: 8, Simd32: 4, IoChannelsPerEdge: 62);

    /// <summary>WSE-2 (CS-2): the SDK's 757 × 996 fabric, usable rectangle 750 × 994 at offset (4, 1), 4-wide fp16 SIMD.</summary>
    public static WaferSpec Wse2 { get; } = new("wse2", 757, 996, 4, 1, 750, 994, Simd16: 4, Simd32: 2, IoChannelsPerEdge: 60);

    /// <summary>A small W × H simulator fabric with WSE-3-like PEs and no memcpy halo.</summary>
    public static WaferSpec Mesh(int width, int height)
    {
        if (width < 1 || height < 1 || (long)width * height > 4_000_000)
            throw new ArgumentException($"mesh:{width}x{height}: width and height must be ≥ 1 and the fabric at most 4,000,000 PEs");
        return new WaferSpec($"mesh:{width}x{height}", width, height, 0, 0, width, height, Simd16: 8, Simd32: 4,
            IoChannelsPerEdge: Math.Max(1, (height + 15) / 16));
    }

    /// <summary>The preset names <see cref="Parse"/> accepts.</summary>
    public const string PresetHelp = "wse3, wse2, mesh:WxH (e.g. mesh:32x32)";

    /// <summary>Parses "wse3", "wse2" or "mesh:WxH"; unknown names throw <see cref="ArgumentException"/> listing the valid ones.</summary>
    public static WaferSpec Parse(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var d = device.Trim().ToLowerInvariant();
        if (d is "wse3" or "cs3" or "cs-3") return Wse3;
        if (d is "wse2" or "cs2" or "cs-2") return Wse2;
        if (d.StartsWith("mesh:", StringComparison.Ordinal))
        {
            var parts = d[5..].Split('x');
            if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h))
                return Mesh(w, h);
        }
        throw new ArgumentException($"unknown device '{device}'; valid devices: {PresetHelp}");
    }
}
