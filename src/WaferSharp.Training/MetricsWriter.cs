using System.Globalization;
using System.Text.Json.Nodes;

namespace WaferSharp.Training;

/// <summary>Appends one JSON object per step to a .jsonl file, flushed every line so a crash loses nothing written.</summary>
public sealed class MetricsWriter : IDisposable
{
    private readonly StreamWriter _w;

    /// <summary>Opens (truncates unless <paramref name="append"/>) the metrics file.</summary>
    public MetricsWriter(string path, bool append = false)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        _w = new StreamWriter(path, append) { AutoFlush = true };
    }

    /// <summary>Writes a step's metrics.</summary>
    public void Write(StepMetrics m, string device)
    {
        var o = new JsonObject
        {
            ["step"] = m.Step, ["loss"] = m.Loss, ["lr"] = m.LearningRate, ["host_s"] = m.HostSeconds,
            ["samples_per_s"] = m.SamplesPerSecond, ["device"] = device, ["mode"] = m.Device.Mode, ["flops"] = m.Flops,
        };
        if (m.Device.DeviceSeconds is { } ds)
        {
            o["device_s"] = ds;
            if (m.DeviceTflops is { } tflops) o["device_tflops"] = tflops;
            if (m.PercentOfPeak is { } pct) o["percent_of_peak"] = pct;
            if (m.DeviceSamplesPerSecond is { } sps) o["device_samples_per_s"] = sps;
            if (m.DeviceTokensPerSecond is { } tps) o["device_tokens_per_s"] = tps;
        }
        if (m.Samples > 0) o["samples"] = m.Samples;
        if (m.GradNorm is { } gn) o["grad_norm"] = gn;
        if (m.EvalLoss is { } el) o["eval_loss"] = el;
        _w.WriteLine(o.ToJsonString());
    }

    /// <inheritdoc/>
    public void Dispose() => _w.Dispose();
}
