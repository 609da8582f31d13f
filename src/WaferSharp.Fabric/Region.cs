namespace WaferSharp.Fabric;

/// <summary>A rectangle of PEs [X, X+Width) × [Y, Y+Height) on which one kernel runs.</summary>
public readonly record struct Region(int X, int Y, int Width, int Height)
{
    /// <summary>PEs in the region.</summary>
    public long PeCount => (long)Width * Height;
    /// <summary>True when fabric PE (x, y) lies inside.</summary>
    public bool Contains(int x, int y) => x >= X && y >= Y && x < X + Width && y < Y + Height;
    /// <inheritdoc/>
    public override string ToString() => $"{Width}x{Height}@({X},{Y})";
}

/// <summary>Timing and capacity knobs of the simulator (cycles). Defaults are documented in docs/FIDELITY.md.</summary>
public sealed record FabricOptions
{
    /// <summary>Wavelets each per-color router input buffer (and each per-color compute-engine input queue) holds.</summary>
    public int BufferDepth { get; init; } = 4;
    /// <summary>Cycles from a task being picked to its first instruction (task switch).</summary>
    public int TaskStartCycles { get; init; } = 3;
    /// <summary>Issue cycles of each vector instruction (DSD/DSR setup).</summary>
    public int IssueCycles { get; init; } = 1;
    /// <summary>Cycles to change one color's route (a switch advance).</summary>
    public int RouteCycles { get; init; } = 1;
    /// <summary>Cost multiplier of exp/rsqrt/sqrt/div over one SIMD pass (software sequences).</summary>
    public int TranscendentalCost { get; init; } = 8;
    /// <summary>Record per-PE task spans for a Chrome trace (bounded by <see cref="MaxTraceSpans"/>).</summary>
    public bool Trace { get; init; }
    /// <summary>Cap on recorded spans.</summary>
    public int MaxTraceSpans { get; init; } = 2_000_000;
    /// <summary>
    /// Threads stepping the routers of large fabrics (at least 2048 PEs; the result is the same for any count). Default:
    /// 2 when the machine has two or more cores.
    /// </summary>
    public int Threads { get; init; } = Environment.ProcessorCount >= 2 ? 2 : 1;
    /// <summary>Stop with an error after this many cycles (a hung program).</summary>
    public long MaxCycles { get; init; } = 2_000_000_000;
}
