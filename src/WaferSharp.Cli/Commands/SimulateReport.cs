using System.Globalization;
using System.Text.Json;
using WaferSharp.Fabric;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Cli;

/// <summary>
/// What both <c>wafer simulate</c> modes report: the difference from the CPU, the fabric counters and speed, the
/// optional trace and heatmap, and the JSON (stdout or an atomic file) or the console summary.
/// </summary>
internal sealed class SimulateReport
{
    private double _maxDiff, _maxRef;

    /// <summary>Folds one simulated result and its CPU reference into max |diff| and max |reference|.</summary>
    public void Compare(ReadOnlySpan<float> got, ReadOnlySpan<float> want)
    {
        for (int i = 0; i < want.Length; i++) { _maxDiff = Math.Max(_maxDiff, Math.Abs((double)got[i] - want[i])); _maxRef = Math.Max(_maxRef, Math.Abs(want[i])); }
    }

    /// <summary>
    /// Adds the shared fields to <paramref name="d"/> (after the caller's identifying ones; counters from <paramref name="st"/>,
    /// speed over <paramref name="pes"/> PEs), writes the trace and heatmap,
    /// then the JSON or the summary (<paramref name="header"/>, the shared lines, then <paramref name="extra"/>).
    /// </summary>
    public int Write(Dictionary<string, object?> d, FabricSimulator sim, FabricStats st, long cycles, double predicted, long pes, double wall,
        string? tracePath, string? heatPath, string? jsonPath, string header, IEnumerable<string> extra)
    {
        double rel = cycles == 0 ? 0 : (predicted - cycles) / cycles, peCyclesPerSecond = (double)cycles * pes / Math.Max(1e-9, wall);
        d["cycles"] = cycles; d["predicted_cycles"] = predicted; d["relative_error"] = rel;
        d["max_abs_diff_vs_cpu"] = _maxDiff; d["max_rel_diff_vs_cpu"] = _maxDiff / Math.Max(1e-30, _maxRef);
        d["pe_cycles_per_second"] = peCyclesPerSecond; d["wall_seconds"] = wall;
        d["pe_busy_fraction"] = st.BusyFraction; d["fmac_utilization"] = st.FmacUtilization;
        d["peak_buffer_occupancy"] = st.PeakBufferOccupancy; d["back_pressure_stalls"] = st.BackPressureStalls; d["wavelet_hops"] = st.WaveletHops;
        if (tracePath is not null) FabricReports.WriteChromeTrace(sim, tracePath);
        if (heatPath is not null) FabricReports.WriteLinkHeatmap(sim, heatPath);
        string text = JsonSerializer.Serialize(d, GpuPlanCommand.Indented);
        if (jsonPath == "-") { Console.Out.WriteLine(text); return 0; }
        static string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
        Console.WriteLine(header);
        Console.WriteLine($"  cycles            {cycles} simulated, {F(predicted, "0")} predicted ({F(100 * rel, "+0.0;-0.0")}%)");
        Console.WriteLine($"  vs CPU            max |diff| {F(_maxDiff, "E2")} ({F(_maxDiff / Math.Max(1e-30, _maxRef), "E2")} relative)");
        Console.WriteLine($"  PEs busy          {F(100 * st.BusyFraction, "0.0")}%, FMAC utilization {F(100 * st.FmacUtilization, "0.0")}%");
        Console.WriteLine($"  fabric            {st.WaveletHops} wavelet hops, peak buffer {st.PeakBufferOccupancy}, {st.BackPressureStalls} back-pressure stalls");
        Console.WriteLine($"  simulation speed  {F(peCyclesPerSecond, "E2")} PE-cycles/s ({F(wall, "0.00")} s)");
        foreach (var line in extra) Console.WriteLine(line);
        if (jsonPath is not null) AtomicFile.WriteAllText(jsonPath, text + "\n");
        return 0;
    }
}
