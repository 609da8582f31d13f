using System.Globalization;

namespace WaferSharp.Reports;

/// <summary>One headline of the verdict: which side wins an aspect, by how much.</summary>
/// <param name="Aspect">"faster", "cheaper" or "greener".</param>
/// <param name="Winner">The winning configuration (best of its side).</param>
/// <param name="RunnerUp">The other side's best configuration.</param>
/// <param name="Ratio">How many times better (≥ 1).</param>
/// <param name="Text">The sentence.</param>
public sealed record Headline(string Aspect, TrainingConfig Winner, TrainingConfig RunnerUp, double Ratio, string Text);

/// <summary>The one-paragraph verdict: the best configuration of each side compared on time, cost and energy, and why.</summary>
public static class Verdict
{
    private static string F(double x, string f = "0.##") => x.ToString(f, CultureInfo.InvariantCulture);

    /// <summary>"16 × wse3" or "1024 × h100".</summary>
    public static string Label(TrainingConfig c) => $"{c.Count} × {c.Device}";

    /// <summary>A duration in the largest sensible unit.</summary>
    public static string Duration(double s) =>
        s < 120 ? $"{F(s, "0.#")} s" : s < 7200 ? $"{F(s / 60, "0.#")} min" : s < 3 * 86400 ? $"{F(s / 3600, "0.#")} h"
        : s < 730 * 86400 ? $"{F(s / 86400, "0.#")} days" : $"{F(s / (365.25 * 86400), "0.#")} years";

    /// <summary>A short time (a step, a latency) in s, ms or µs.</summary>
    public static string Seconds(double s) =>
        s >= 1 ? $"{F(s, "0.##")} s" : s >= 1e-3 ? $"{F(s * 1e3, "0.##")} ms" : $"{F(s * 1e6, "0.##")} µs";

    /// <summary>A fraction as a percentage with enough digits to be non-zero.</summary>
    public static string Percent(double x) => x * 100 >= 10 ? $"{F(x * 100, "0")}%" : x * 100 >= 1 ? $"{F(x * 100, "0.#")}%" : $"{F(x * 100, "0.###")}%";

    /// <summary>Dollars with thousands separators.</summary>
    public static string Money(double usd) => usd >= 1e6 ? $"${F(usd / 1e6, "0.##")}M" : usd >= 1e4 ? $"${F(usd / 1e3, "0.#")}k" : $"${F(usd, "N2")}";

    /// <summary>Energy in kWh or MWh.</summary>
    public static string Energy(double kwh) => kwh >= 1e4 ? $"{F(kwh / 1e3, "N1")} MWh" : kwh >= 10 ? $"{F(kwh, "N0")} kWh" : $"{F(kwh, "0.###")} kWh";

    /// <summary>The three headlines (empty when one side has no configuration that fits).</summary>
    public static IReadOnlyList<Headline> Headlines(CompareResult r)
    {
        var w = r.Configs.Where(c => c.Kind == "wafer" && c.Fits).ToList();
        var g = r.Configs.Where(c => c.Kind == "gpu" && c.Fits).ToList();
        if (w.Count == 0 || g.Count == 0) return [];
        Headline Make(string aspect, Func<TrainingConfig, double> key, Func<double, string> fmt, string better)
        {
            var bw = w.MinBy(key)!; var bg = g.MinBy(key)!;
            var (win, lose) = key(bw) <= key(bg) ? (bw, bg) : (bg, bw);
            double ratio = key(lose) / Math.Max(1e-300, key(win));
            string side = win.Kind == "wafer" ? "wafer" : "GPU";
            string text = $"{char.ToUpperInvariant(aspect[0])}{aspect[1..]}: {side} — {Label(win)} {fmt(key(win))} vs {Label(lose)} {fmt(key(lose))} ({F(ratio, ratio < 10 ? "0.##" : "0")}× {better}).";
            return new Headline(aspect, win, lose, ratio, text);
        }
        return
        [
            Make("faster", c => c.TimeToGoalS!.Value, Duration, "faster"),
            Make("cheaper", c => c.CostUsd!.Value, Money, "cheaper"),
            Make("greener", c => c.EnergyKwh!.Value, Energy, "less energy"),
        ];
    }

    /// <summary>The paragraph.</summary>
    public static string Write(CompareResult r)
    {
        var w = r.Configs.Where(c => c.Kind == "wafer").ToList();
        var g = r.Configs.Where(c => c.Kind == "gpu").ToList();
        string goal = $"{r.GoalTokens:0.###e0} {r.GoalUnit}";
        var wf = w.Where(c => c.Fits).ToList();
        var gf = g.Where(c => c.Fits).ToList();
        if (wf.Count == 0 && gf.Count == 0)
            return $"No configuration fits {r.Model}: " + string.Join(" ", r.Configs.Select(c => $"{Label(c)}: {c.Reason}").Take(2));
        if (wf.Count == 0 || gf.Count == 0)
        {
            var have = wf.Count > 0 ? wf : gf;
            var best = have.MinBy(c => c.TimeToGoalS!.Value)!;
            string missing = wf.Count == 0 ? (w.Count == 0 ? "no wafer configuration was asked for" : $"no wafer configuration fits ({w[^1].Reason})")
                : (g.Count == 0 ? "no GPU configuration was asked for" : $"no GPU configuration fits ({g[^1].Reason})");
            return $"Only one side can train {r.Model}: {missing}. The fastest that fits is {Label(best)}: {goal} in {Duration(best.TimeToGoalS!.Value)}, {Money(best.CostUsd!.Value)}, {Energy(best.EnergyKwh!.Value)}.";
        }
        var h = Headlines(r);
        var fastW = wf.MinBy(c => c.TimeToGoalS!.Value)!;
        var fastG = gf.MinBy(c => c.TimeToGoalS!.Value)!;
        string why = Why(fastW, fastG);
        return $"To train {r.Model} on {goal}: " + string.Join(" ", h.Select(x => x.Text)) + " Why: " + why;
    }

    private static string Why(TrainingConfig w, TrainingConfig g)
    {
        var bw = w.Breakdown!; var bg = g.Breakdown!;
        double gOver = (bg.CommunicationS + bg.BubbleS) / bg.TotalS, wIo = bw.WeightIoS / bw.TotalS, wOver = (bw.CommunicationS + bw.BubbleS + bw.OtherS) / bw.TotalS;
        string gpu = $"the fastest GPU plan ({g.Plan}) runs at {Percent(g.Utilization!.Value)} MFU and spends {Percent(gOver)} of each step in communication and pipeline bubbles, with a parallelism burden of {g.Burden!.Score} ({string.Join(", ", g.Burden.Items)})";
        string wafer = $"the fastest wafer plan ({w.Plan}) reaches {Percent(w.Utilization!.Value)} of its dense peak" +
                       (wIo > 0.05 ? $", waits {F(wIo * 100, "0")}% of the step on weight streaming" : "") +
                       (wOver > 0.05 ? $", spends {F(wOver * 100, "0")}% on fabric communication, pipeline fill and fixed latency" : "") +
                       $", with a parallelism burden of {w.Burden!.Score}" + (w.Burden.Items.Count > 0 ? $" ({string.Join(", ", w.Burden.Items)})" : "") +
                       $"; its limit: {w.Bottleneck}";
        return $"{wafer}; {gpu}. Per device the wafer system costs {F(w.PricePerDeviceHour / Math.Max(1e-9, g.PricePerDeviceHour), "0.#")}× a GPU-hour, so cost follows device-hours, and energy follows power × time.";
    }
}
