using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Compiler;

/// <summary>Arithmetic precision of a compiled program (storage and SIMD rate of activations and weights).</summary>
public enum Precision
{
    /// <summary>bfloat16 compute, 16-bit SIMD rate (fp32 master weights and optimizer state in training).</summary>
    Bf16,
    /// <summary>IEEE half compute.</summary>
    Fp16,
    /// <summary>float32 compute at the fp32 SIMD rate.</summary>
    Fp32,
}

/// <summary>
/// The parameters of every mesh cost model, derived from a <see cref="WaferSpec"/> and a precision. All times are
/// cycles. α = <see cref="Alpha"/> per router hop, β = <see cref="Beta"/> per software relay stage, one 32-bit
/// wavelet per link per cycle, <see cref="Lanes"/> FMACs (or elementwise FLOPs) per PE per cycle.
/// </summary>
public sealed record CostParams
{
    /// <summary>Derives the parameters for a wafer at a precision.</summary>
    public CostParams(WaferSpec spec, Precision precision)
    {
        Spec = spec;
        Precision = precision;
        DType = precision switch { Precision.Bf16 => DType.BFloat16, Precision.Fp16 => DType.Float16, _ => DType.Float32 };
        Lanes = spec.SimdWidth(DType);
        ElementBytes = DType.Size();
        Alpha = spec.HopCycles;
        Beta = spec.RelayCycles; // 12 cycles, calibrated on the fabric simulator (docs/FIDELITY.md)
        LinkBytesPerCycle = spec.WaveletBytes * spec.LinkWaveletsPerCycle;
        SramReadBytesPerCycle = spec.SramReadBytesPerCycle;
        SramWriteBytesPerCycle = spec.SramWriteBytesPerCycle;
        Ladder = BuildLadder(spec);
    }

    /// <summary>The wafer.</summary>
    public WaferSpec Spec { get; }
    /// <summary>Compute precision.</summary>
    public Precision Precision { get; }
    /// <summary>Compute dtype.</summary>
    public DType DType { get; }
    /// <summary>S: FMACs (GEMM) or FLOPs (elementwise) per PE per cycle.</summary>
    public int Lanes { get; init; }
    /// <summary>Bytes of one activation/weight element at the compute precision.</summary>
    public int ElementBytes { get; init; }
    /// <summary>α: cycles per router hop.</summary>
    public double Alpha { get; init; }
    /// <summary>β: cycles per software relay stage (receive, re-parse, re-inject; in a multicast GEMM step, the route switch, re-injection and completion tasks).</summary>
    public double Beta { get; init; }
    /// <summary>t_w⁻¹: bytes per link per cycle (one 32-bit wavelet).</summary>
    public double LinkBytesPerCycle { get; init; }
    /// <summary>SRAM read bandwidth per PE.</summary>
    public double SramReadBytesPerCycle { get; init; }
    /// <summary>SRAM write bandwidth per PE.</summary>
    public double SramWriteBytesPerCycle { get; init; }
    /// <summary>Fixed cost of starting a kernel on a region (first task switch and instruction issue; calibrated on the fabric simulator).</summary>
    public double KernelOverheadCycles { get; init; } = 4;
    /// <summary>Cycles from a task being activated to its first instruction (task switch).</summary>
    public double TaskStartCycles { get; init; } = 3;
    /// <summary>Issue cycles of one vector instruction (DSD setup).</summary>
    public double IssueCycles { get; init; } = 1;
    /// <summary>Cycles per PE of a pipelined reduction chain (hop, ramp into the PE, add, ramp out).</summary>
    public double ChainStageCycles { get; init; } = 3;
    /// <summary>SIMD passes of one exp/rsqrt/sqrt/divide (software sequences).</summary>
    public double TranscendentalPasses { get; init; } = 8;

    /// <summary>
    /// Cycles per element of one SRAM vector pass with <paramref name="readStreams"/> strided source streams that writes
    /// its result when <paramref name="writes"/>: the slowest of the SIMD lanes, the read port and the write port.
    /// </summary>
    public double PassCycles(int readStreams, bool writes) =>
        Math.Max(1.0 / Lanes, Math.Max(readStreams * ElementBytes / SramReadBytesPerCycle, writes ? ElementBytes / SramWriteBytesPerCycle : 0));

    /// <summary>Cycles per element of an exp/rsqrt/sqrt/divide pass.</summary>
    public double TranscendentalCycles => Math.Max(TranscendentalPasses / Lanes, PassCycles(1, true));
    /// <summary>Fixed cost per compute-shift step of a GEMM (DSD reload, buffer swap).</summary>
    public double StepOverheadCycles { get; init; } = 4;
    /// <summary>Bytes of code and runtime state per PE (not available to tensors).</summary>
    public int CodeBytesPerPe { get; init; } = 4096;
    /// <summary>Bytes of master weights, gradients and optimizer moments per element in training (fp32).</summary>
    public int MasterBytes { get; init; } = 4;

    /// <summary>
    /// Grid sides a kernel may use (all of 1…16, then steps of 2^(1/8), plus the fabric's own sides). A kernel on a
    /// w × h region runs on the best sub-grid from this fixed set that fits; a fixed candidate set makes every
    /// estimate non-increasing in the region size (more PEs never make a kernel slower).
    /// </summary>
    public int[] Ladder { get; }

    private static int[] BuildLadder(WaferSpec spec)
    {
        var s = new SortedSet<int>();
        for (int i = 1; i <= 16; i++) s.Add(i);
        for (double v = 16; v < 4096; v *= Math.Pow(2, 1.0 / 8)) s.Add((int)Math.Round(v));
        foreach (var d in new[] { spec.Width, spec.Height, spec.ProgramWidth, spec.ProgramHeight }) s.Add(d);
        return s.ToArray();
    }

    /// <summary>The largest ladder value ≤ <paramref name="x"/> (at least 1).</summary>
    public int LadderFloor(int x)
    {
        int i = Array.BinarySearch(Ladder, x);
        return i >= 0 ? Ladder[i] : Ladder[Math.Max(0, ~i - 1)];
    }

    /// <summary>The smallest ladder value ≥ <paramref name="x"/>.</summary>
    public int LadderCeil(int x)
    {
        int i = Array.BinarySearch(Ladder, x);
        return i >= 0 ? Ladder[i] : (~i < Ladder.Length ? Ladder[~i] : x);
    }

    /// <summary>Bytes of a tensor at the compute precision (floats are stored at <see cref="ElementBytes"/>; integers keep their size).</summary>
    public long Bytes(Graph.TensorType t) => t.DType.IsFloating() ? t.Numel * ElementBytes : t.Bytes;

    /// <summary>Cycles to move <paramref name="bytes"/> over one link.</summary>
    public double Words(double bytes) => Math.Ceiling(bytes / LinkBytesPerCycle);
}
