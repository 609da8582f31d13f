namespace WaferSharp.Fabric;

/// <summary>
/// A set of router ports. A route for one color on one router names the ports a wavelet may arrive on (rx) and the
/// ports it leaves on (tx); several tx ports multicast. <see cref="Ramp"/> is the link to and from the PE's own
/// compute engine: rx = Ramp means the PE sends on the color, tx ∋ Ramp means the PE receives it.
/// </summary>
[Flags]
public enum Ports : byte
{
    /// <summary>No port.</summary>
    None = 0,
    /// <summary>North neighbour (y − 1).</summary>
    North = 1,
    /// <summary>South neighbour (y + 1).</summary>
    South = 2,
    /// <summary>East neighbour (x + 1).</summary>
    East = 4,
    /// <summary>West neighbour (x − 1).</summary>
    West = 8,
    /// <summary>The PE's own compute engine.</summary>
    Ramp = 16,
}

/// <summary>Port indices used in link statistics (0 N, 1 S, 2 E, 3 W, 4 ramp).</summary>
public static class PortIndex
{
    /// <summary>North.</summary>
    public const int North = 0;
    /// <summary>South.</summary>
    public const int South = 1;
    /// <summary>East.</summary>
    public const int East = 2;
    /// <summary>West.</summary>
    public const int West = 3;
    /// <summary>Ramp (compute engine).</summary>
    public const int Ramp = 4;

    /// <summary>The port on the neighbour at which a wavelet leaving through <paramref name="port"/> arrives.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int Opposite(int port) => port switch { North => South, South => North, East => West, West => East, _ => Ramp };

    /// <summary>The single port of a one-port mask.</summary>
    public static Ports Mask(int port) => (Ports)(1 << port);
}
