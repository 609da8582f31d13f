using WaferSharp.Hardware;
using WaferSharp.Training;

namespace WaferSharp.Runtime;

/// <summary>Settings of the wafer devices that are not per-graph: compile-time faults and compile shortcuts.</summary>
public sealed record WaferRuntimeOptions
{
    /// <summary>Fraction of PEs marked dead at compile time (the program avoids them; numerics unchanged).</summary>
    public double DefectRate { get; init; }
    /// <summary>Seed of the defect map.</summary>
    public ulong DefectSeed { get; init; }
    /// <summary>Skip laying routes when compiling (faster compiles; link loads are then not in the step time).</summary>
    public bool SkipRouting { get; init; }
}

/// <summary>
/// The wafer runtime's entry point: <see cref="Register"/> adds the devices <c>wse3</c>, <c>wse2</c> and
/// <c>mesh:WxH</c> to <see cref="Devices"/> (and the fabric simulator's <see cref="FabricCycleTimer"/> for <c>--fidelity cycle</c>), so a training program only sets <c>TrainerConfig.Device</c>. The CLI
/// calls it at start-up; library users call it once before training.
/// </summary>
public static class WaferRuntime
{
    private static readonly object Gate = new();
    private static bool _registered;
    private static WaferRuntimeOptions _options = new();
    private static ICycleTimer? _cycleTimer;

    /// <summary>Current options of the wafer devices.</summary>
    public static WaferRuntimeOptions Options { get { lock (Gate) return _options; } }

    /// <summary>The registered cycle-level timer (null until the fabric simulator registers one).</summary>
    public static ICycleTimer? CycleTimer { get { lock (Gate) return _cycleTimer; } }

    /// <summary>Whether a device name is a wafer device ("wse3", "wse2", "mesh:WxH").</summary>
    public static bool IsWaferDevice(string device)
    {
        try { WaferSpec.Parse(device); return true; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>
    /// Registers the wafer devices (idempotent). Passing <paramref name="options"/> replaces the options of every
    /// runner created afterwards (e.g. a defect rate).
    /// </summary>
    public static void Register(WaferRuntimeOptions? options = null)
    {
        lock (Gate)
        {
            if (options is not null)
            {
                if (options.DefectRate is < 0 or >= 1 || double.IsNaN(options.DefectRate))
                    throw new ArgumentException($"--defect-rate must be in [0, 1), got {options.DefectRate}");
                _options = options;
            }
            if (_registered) return;
            _registered = true;
            // --fidelity cycle on mesh:WxH devices runs the whole program on the fabric simulator
            _cycleTimer ??= new FabricCycleTimer();
        }
        Devices.Register(IsWaferDevice, (device, graph, ctx) => new WaferRunner(device, graph, ctx, Options), WaferSpec.PresetHelp);
    }

    /// <summary>Registers the cycle-level timer used by <c>--fidelity cycle</c> (the fabric simulator calls this); null removes it.</summary>
    public static void RegisterCycleTimer(ICycleTimer? timer)
    {
        lock (Gate) _cycleTimer = timer;
    }
}
