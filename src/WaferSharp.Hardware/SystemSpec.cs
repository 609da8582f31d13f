namespace WaferSharp.Hardware;

/// <summary>
/// A CS-2/CS-3-like system around one wafer: host/weight I/O and power. Uncertain values are parameters (see
/// docs/HARDWARE.md).
/// </summary>
/// <param name="Name">"cs3", "cs2" or a mesh name.</param>
/// <param name="Wafer">The wafer.</param>
/// <param name="IoBytesPerSecond">Ingress (and, separately, egress) bandwidth: 12 × 100 GbE = 1.2 Tb/s = 150 GB/s.</param>
/// <param name="PowerWatts">System power; about 20–23 kW published third-party, default 20 kW (flagged uncertain).</param>
/// <param name="WeightMemoryBytes">External weight memory (MemoryX) available to this system: default 12 TB (CS-2 R2.0 / CS-3 option).</param>
public sealed record SystemSpec(string Name, WaferSpec Wafer, double IoBytesPerSecond = 150e9, double PowerWatts = 20_000,
    double WeightMemoryBytes = 12e12)
{
    /// <summary>The system for a device preset: wse3 → CS-3, wse2 → CS-2, mesh → a system with the same I/O.</summary>
    public static SystemSpec For(WaferSpec wafer) => wafer.Name switch
    {
        "wse3" => new SystemSpec("cs3", wafer),
        "wse2" => new SystemSpec("cs2", wafer),
        _ => new SystemSpec(wafer.Name, wafer, PowerWatts: Math.Max(100, wafer.ProgramPeCount * wafer.PeakWattsPerPe * 1.3)),
    };
}

/// <summary>
/// N systems trained data-parallel in weight-streaming mode: weights live in a MemoryX-like store and are broadcast
/// to every system, gradients are summed on the way back, through a SwarmX-like tree of broadcast/reduce nodes.
/// </summary>
/// <param name="System">Each member system.</param>
/// <param name="Count">Number of systems (1 … 2048).</param>
/// <param name="SwarmFanout">Broadcast/reduce fan-out of one SwarmX node (1:4).</param>
/// <param name="SwarmStageSeconds">Latency of one tree stage; not published, default 2 µs.</param>
/// <param name="WeightMemoryBytes">Total weight-memory capacity (default: that of one system's MemoryX, 12 TB).</param>
public sealed record ClusterSpec(SystemSpec System, int Count, int SwarmFanout = 4, double SwarmStageSeconds = 2e-6,
    double WeightMemoryBytes = 12e12)
{
    /// <summary>Tree depth of the broadcast/reduce fabric: ⌈log_fanout N⌉ (0 for one system).</summary>
    public int SwarmStages
    {
        get
        {
            int s = 0;
            for (long r = 1; r < Count; r *= SwarmFanout) s++;
            return s;
        }
    }

    /// <summary>A cluster of <paramref name="count"/> systems of a device preset.</summary>
    public static ClusterSpec Of(WaferSpec wafer, int count)
    {
        if (count < 1 || count > 2048) throw new ArgumentException($"--systems must be in 1..2048 (the largest announced cluster), got {count}");
        return new ClusterSpec(SystemSpec.For(wafer), count);
    }
}
