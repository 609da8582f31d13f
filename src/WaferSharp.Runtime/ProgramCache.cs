using System.Collections.Concurrent;
using WaferSharp.Compiler;
using WaferSharp.Graph.Passes;

namespace WaferSharp.Runtime;

/// <summary>
/// Compiled programs by (graph hash, device, systems, precision, batch, task, defects): a training step is compiled
/// once per process however many trainers (restarts after a fault, evaluation graphs) ask for it.
/// </summary>
public static class ProgramCache
{
    private static readonly ConcurrentDictionary<string, Lazy<WaferProgram>> Programs = new();
    // per timer (tests register their own), then per program key
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ICycleTimer, ConcurrentDictionary<string, Lazy<CycleTiming>>> Simulations = new();

    /// <summary>Compiles are counted so tests can check the cache (compiles, hits).</summary>
    public static (long Compiles, long Hits) Stats => (Interlocked.Read(ref _compiles), Interlocked.Read(ref _hits));
    private static long _compiles, _hits;

    /// <summary>The cache key of a graph on a device.</summary>
    public static string Key(Graph.Graph graph, string device, int systems, string precision, int batch, bool inference, string defects) =>
        $"{GraphHash.Compute(graph)}|{device}|{systems}|{precision}|{batch}|{(inference ? "inference" : "train")}|{defects}";

    /// <summary>The program for a key, compiling it with <paramref name="compile"/> on the first request.</summary>
    public static WaferProgram GetOrCompile(string key, Func<WaferProgram> compile)
    {
        bool created = false;
        var lazy = Programs.GetOrAdd(key, _ => { created = true; return new Lazy<WaferProgram>(compile); });
        if (created) Interlocked.Increment(ref _compiles); else Interlocked.Increment(ref _hits);
        try { return lazy.Value; }
        catch { Programs.TryRemove(key, out _); throw; }
    }

    /// <summary>
    /// The cycle-level timing of the program under <paramref name="key"/>, simulated on the first request: simulated
    /// cycles do not depend on the data, so every runner of the same program (restarts, evaluation, benchmarks) reuses it.
    /// </summary>
    public static CycleTiming GetOrSimulate(ICycleTimer timer, string key, Func<CycleTiming> simulate)
    {
        var byKey = Simulations.GetValue(timer, _ => new ConcurrentDictionary<string, Lazy<CycleTiming>>());
        var lazy = byKey.GetOrAdd(key, _ => new Lazy<CycleTiming>(simulate));
        try { return lazy.Value; }
        catch { byKey.TryRemove(key, out _); throw; }
    }

    /// <summary>Forgets every program and simulation.</summary>
    public static void Clear() { Programs.Clear(); Simulations.Clear(); }
}
