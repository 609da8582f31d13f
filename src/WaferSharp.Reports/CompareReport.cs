using System.Globalization;
using System.Net;
using System.Text;
using WaferSharp.Compiler;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Reports;

/// <summary>
/// The comparison as one self-contained HTML file: the verdict first, then the training table, three inline SVG
/// charts (time to goal vs device count on log axes; cost vs time with the Pareto front; a stacked step breakdown
/// per configuration), the inference table, the compiler's wafer heatmap and the assumptions. No external scripts,
/// styles or fonts; a few lines of inline script only highlight a configuration's table row and chart marks together.
/// Chart marks carry stable classes for tests: <c>circle.pt</c> (one per training configuration, in the scaling
/// chart), <c>circle.pp</c> (one per fitting configuration, in the cost chart), <c>rect.seg</c> (breakdown segments).
/// </summary>
public static class CompareReport
{
    private const string WaferColor = "#d9480f", GpuColor = "#1c7ed6";
    private static readonly (string Key, string Label, string Color)[] Parts =
    [
        ("compute", "compute", "#2f9e44"), ("communication", "communication", "#f08c00"), ("bubble", "pipeline bubble", "#ae3ec9"),
        ("weight_io", "weight I/O", "#e03131"), ("other", "fixed latency / other", "#868e96"),
    ];

    private static string F(double x, string f = "0.##") => x.ToString(f, CultureInfo.InvariantCulture);
    private static string E(string s) => WebUtility.HtmlEncode(s);
    private static string Color(string kind) => kind == "wafer" ? WaferColor : GpuColor;

    /// <summary>Renders the report.</summary>
    public static string Render(CompareResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append("<title>WaferSharp compare: ").Append(E(r.Model)).Append("</title>");
        // a script error anywhere leaves a visible marker in the DOM (the headless-browser test looks for it)
        sb.Append("<script>window.addEventListener('error',function(e){var d=document.createElement('pre');d.id='script-error';d.textContent='script error: '+e.message;(document.body||document.documentElement).appendChild(d);});</script>");
        sb.Append("<style>");
        sb.Append(":root{--w:").Append(WaferColor).Append(";--g:").Append(GpuColor).Append("}");
        sb.Append("body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#212529;background:#f8f9fa;line-height:1.45}");
        sb.Append("main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;border-bottom:1px solid #dee2e6;padding-bottom:4px}");
        sb.Append(".sub{color:#495057;margin:0 0 18px}.cards{display:flex;gap:14px;flex-wrap:wrap;margin:14px 0}.card{flex:1 1 260px;background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(0,0,0,.12);border-top:5px solid #adb5bd}");
        sb.Append(".card.wafer{border-top-color:var(--w)}.card.gpu{border-top-color:var(--g)}.card .big{font-size:24px;font-weight:650}.card .k{text-transform:uppercase;font-size:12px;letter-spacing:.06em;color:#868e96}");
        sb.Append(".verdict{background:#fff;border-radius:10px;padding:14px 18px;box-shadow:0 1px 3px rgba(0,0,0,.12)}.note{background:#fff4e6;border-left:4px solid #f08c00;padding:10px 14px;border-radius:6px;margin:12px 0}");
        sb.Append("table{border-collapse:collapse;font-size:13px;background:#fff;width:100%}td,th{border-bottom:1px solid #e9ecef;padding:5px 7px;text-align:right;vertical-align:top}th{background:#f1f3f5;font-weight:600}td.l,th.l{text-align:left}");
        sb.Append("tr.nofit td{color:#868e96}td.cfg{white-space:nowrap}tr.hl td{background:#fff3bf}.tag{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px}.tag.wafer{background:var(--w)}.tag.gpu{background:var(--g)}");
        sb.Append(".charts{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0}.chart{background:#fff;border-radius:10px;padding:10px;box-shadow:0 1px 3px rgba(0,0,0,.12)}figcaption{font-weight:600;margin:2px 4px 6px}");
        sb.Append("svg text{font-family:inherit;font-size:11px;fill:#495057}circle.pt,circle.pp{cursor:pointer}circle.hl{stroke:#000;stroke-width:3}.small{font-size:12px;color:#495057}");
        sb.Append("</style></head><body><main>");

        sb.Append("<h1>").Append(E(r.Model)).Append(": wafer-scale vs GPU cluster</h1>");
        sb.Append("<p class=\"sub\">Goal: <b>").Append(E($"{r.GoalTokens:0.###e0} {r.GoalUnit}")).Append("</b>")
          .Append(r.SeqLen is { } s ? $" at sequence length {s}" : "").Append(" · ").Append(E($"{r.Parameters:N0}")).Append(" parameters · ")
          .Append(E(r.Wafer)).Append(" systems vs ").Append(E(r.Gpu)).Append(" GPUs</p>");

        VerdictSection(sb, r);
        TrainingTable(sb, r);
        sb.Append("<h2>Charts</h2><div class=\"charts\">");
        ScalingChart(sb, r);
        ParetoChart(sb, r);
        sb.Append("</div><div class=\"charts\" style=\"margin-top:18px\">");
        BreakdownChart(sb, r);
        sb.Append("</div>");
        if (r.InferenceRequest is not null) InferenceTable(sb, r);
        // the most informative map: a layer-pipelined program (one region per layer group) if any, else the fastest
        var mapped = r.Configs.Where(c => c.Kind == "wafer" && c.Fits && c.Program is not null).ToList();
        var heat = mapped.Where(c => c.Program!.Mode == "layer-pipelined").MinBy(c => c.TimeToGoalS) ?? mapped.MinBy(c => c.TimeToGoalS);
        if (heat?.Program is { } prog)
        {
            sb.Append("<h2>Wafer placement (").Append(E(Reports.Verdict.Label(heat))).Append(")</h2><p class=\"small\">")
              .Append(E($"{prog.Mode}: {prog.Regions.Count} region(s), {prog.Kernels.Count:N0} kernels; {prog.ModeReason}. Bottleneck: {prog.Bottleneck}.")).Append("</p><div class=\"chart\" style=\"display:inline-block\">");
            sb.Append(HtmlReport.WaferHeatmap(prog));
            sb.Append("</div>");
        }
        Assumptions(sb, r);
        sb.Append("<p class=\"small\">Generated by WaferSharp <code>wafer compare</code> in ").Append(F(r.ElapsedS, "0.#")).Append(" s. Predictions from analytic models (compiler cost model; GPU planner validated in docs/FIDELITY.md), not measurements.</p>");
        sb.Append("</main><script>");
        // link chart marks and table rows of the same configuration (hover)
        sb.Append("(function(){function mark(id,on){document.querySelectorAll('[data-config=\"'+id+'\"]').forEach(function(e){e.classList.toggle('hl',on);});}");
        sb.Append("document.querySelectorAll('[data-config]').forEach(function(e){var id=e.getAttribute('data-config');e.addEventListener('mouseenter',function(){mark(id,true);});e.addEventListener('mouseleave',function(){mark(id,false);});});");
        sb.Append("document.body.setAttribute('data-ready',String(document.querySelectorAll('circle.pt').length));})();</script></body></html>");
        return sb.ToString();
    }

    /// <summary>Writes the report atomically (temp file, then rename).</summary>
    public static void Save(CompareResult r, string path) => AtomicFile.WriteAllText(path, Render(r));

    private static void VerdictSection(StringBuilder sb, CompareResult r)
    {
        var h = Reports.Verdict.Headlines(r);
        if (h.Count > 0)
        {
            sb.Append("<div class=\"cards\">");
            foreach (var x in h)
            {
                string value = x.Aspect switch
                {
                    "faster" => Reports.Verdict.Duration(x.Winner.TimeToGoalS!.Value),
                    "cheaper" => Reports.Verdict.Money(x.Winner.CostUsd!.Value),
                    _ => Reports.Verdict.Energy(x.Winner.EnergyKwh!.Value),
                };
                sb.Append("<div class=\"card ").Append(x.Winner.Kind).Append("\" data-aspect=\"").Append(x.Aspect).Append("\"><div class=\"k\">").Append(E(x.Aspect))
                  .Append("</div><div class=\"big\">").Append(x.Winner.Kind == "wafer" ? "Wafer" : "GPU").Append(", ").Append(F(x.Ratio, x.Ratio < 10 ? "0.#" : "0")).Append("×</div><div>")
                  .Append(E(Reports.Verdict.Label(x.Winner))).Append(": ").Append(E(value)).Append("<br><span class=\"small\">vs ")
                  .Append(E(Reports.Verdict.Label(x.RunnerUp))).Append("</span></div></div>");
            }
            sb.Append("</div>");
        }
        sb.Append("<div class=\"verdict\" id=\"verdict\"><b>Verdict.</b> ").Append(E(r.Verdict)).Append("</div>");
        if (r.BatchNote is not null) sb.Append("<div class=\"note\" id=\"batch-note\"><b>Convergence.</b> ").Append(E(r.BatchNote)).Append("</div>");
    }

    private static string Opt(double? x, Func<double, string> f) => x is { } v ? f(v) : "—";

    private static void TrainingTable(StringBuilder sb, CompareResult r)
    {
        sb.Append("<h2>Training to the goal</h2><table id=\"training\"><tr><th class=\"l\">config</th><th class=\"l\">fits</th><th class=\"l\">plan</th><th>batch</th><th>step</th><th>")
          .Append(r.GoalUnit).Append("/step</th><th>time to goal</th><th>cost</th><th>energy</th><th>util.</th><th class=\"l\">burden</th></tr>");
        foreach (var c in r.Configs)
        {
            sb.Append("<tr data-config=\"").Append(c.Id).Append("\"").Append(c.Fits ? "" : " class=\"nofit\"").Append("><td class=\"l cfg\"><span class=\"tag ").Append(c.Kind).Append("\">")
              .Append(c.Kind).Append("</span> ").Append(E(Reports.Verdict.Label(c))).Append("</td><td class=\"l\">")
              .Append(c.Fits ? "yes" : $"<span title=\"{E(c.Reason ?? "")}\"><b>no</b>: {E(Trim(c.Reason ?? "", 90))}</span>").Append("</td><td class=\"l\">")
              .Append(c.Fits || c.Plan.Length == 0 ? "" : "closest miss: ").Append(E(c.Plan)).Append("</td><td>").Append(c.GlobalBatch).Append("</td><td>")
              .Append(Opt(c.StepTimeS, Reports.Verdict.Seconds)).Append("</td><td>").Append(F(c.TokensPerStep, "N0")).Append("</td><td><b>")
              .Append(Opt(c.TimeToGoalS, Reports.Verdict.Duration)).Append("</b></td><td>").Append(Opt(c.CostUsd, Reports.Verdict.Money)).Append("</td><td>")
              .Append(Opt(c.EnergyKwh, Reports.Verdict.Energy)).Append("</td><td>").Append(Opt(c.Utilization, Reports.Verdict.Percent)).Append("</td><td class=\"l\">");
            if (c.Burden is { } b) sb.Append("<span title=\"").Append(E(b.Explanation)).Append("\"><b>").Append(b.Score).Append("</b> <span class=\"small\">").Append(E(b.Items.Count == 0 ? "nothing to partition" : string.Join(", ", b.Items))).Append("</span></span>");
            else sb.Append("—");
            sb.Append("</td></tr>");
        }
        sb.Append("</table><p class=\"small\">time to goal = goal / ").Append(r.GoalUnit).Append(" per step × step time; cost = devices × hours × price; energy = IT power × time × PUE. ")
          .Append("Burden = parallel dimensions + knobs the plan needs (see the column's text). Per-config notes:</p><ul class=\"small\">");
        foreach (var c in r.Configs)
        {
            if (!c.Fits) sb.Append("<li><b>").Append(E(Reports.Verdict.Label(c))).Append("</b> does not fit: ").Append(E(c.Reason ?? "")).Append("</li>");
            foreach (var n in c.Notes) sb.Append("<li><b>").Append(E(Reports.Verdict.Label(c))).Append("</b>: ").Append(E(n)).Append("</li>");
        }
        sb.Append("</ul>");
    }

    // ---- charts -------------------------------------------------------------------------------------------------

    private sealed record Axis(double Lo, double Hi, double P0, double P1)
    {
        public double Map(double v) => P0 + (Math.Log10(v) - Math.Log10(Lo)) / (Math.Log10(Hi) - Math.Log10(Lo)) * (P1 - P0);
        public static Axis Of(IEnumerable<double> values, double p0, double p1)
        {
            var v = values.Where(x => x > 0 && double.IsFinite(x)).ToList();
            if (v.Count == 0) v = [1, 10];
            double lo = Math.Pow(10, Math.Floor(Math.Log10(v.Min()))), hi = Math.Pow(10, Math.Ceiling(Math.Log10(v.Max())));
            if (hi <= lo) hi = lo * 10;
            return new Axis(Math.Min(lo, v.Min() / 1.5), Math.Max(hi, v.Max() * 1.5), p0, p1);
        }
        public IEnumerable<double> Decades()
        {
            for (double d = Math.Pow(10, Math.Ceiling(Math.Log10(Lo) - 1e-9)); d <= Hi * 1.0001; d *= 10) yield return d;
        }

        /// <summary>An axis of durations (s) with ticks at round units (minute, hour, day, week, month, year…).</summary>
        public static (Axis Axis, List<double> Ticks) Time(IEnumerable<double> values, double p0, double p1)
        {
            double[] units = [1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400.0, 365.25 * 86400, 3652.5 * 86400.0, 36525 * 86400.0];
            var v = values.Where(x => x > 0 && double.IsFinite(x)).ToList();
            if (v.Count == 0) v = [60, 3600];
            double lo = units.Where(u => u <= v.Min()).DefaultIfEmpty(v.Min()).Max();
            double hi = units.Where(u => u >= v.Max()).DefaultIfEmpty(v.Max()).Min();
            if (hi <= lo) hi = lo * 10;
            var ticks = units.Where(u => u >= lo && u <= hi).ToList();
            if (ticks.Count < 2) ticks = [lo, hi];
            // a little room beyond the outer ticks, so points never sit on the frame
            return (new Axis(Math.Min(lo, v.Min() / 1.5), Math.Max(hi, v.Max() * 1.5), p0, p1), ticks);
        }
    }

    private static string TimeTick(double s) => s switch
    {
        < 60 => $"{F(s, "0")} s",
        < 3600 => $"{F(s / 60, "0")} min",
        < 86400 => $"{F(s / 3600, "0")} h",
        < 7 * 86400 => $"{F(s / 86400, "0")} day",
        < 30 * 86400 => $"{F(s / (7 * 86400), "0")} week",
        < 365 * 86400 => $"{F(s / (30 * 86400), "0")} month",
        _ => $"{F(s / (365.25 * 86400), "0")} yr",
    };

    private static void Frame(StringBuilder sb, int w, int h, Axis x, Axis y, Func<double, string> xl, Func<double, string> yl, string xTitle, string yTitle, IEnumerable<double>? xTicks = null, IEnumerable<double>? yTicks = null)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x.P0}\" y=\"{y.P1}\" width=\"{x.P1 - x.P0}\" height=\"{y.P0 - y.P1}\" fill=\"#fff\" stroke=\"#ced4da\"/>");
        foreach (var d in xTicks ?? x.Decades())
        {
            double px = x.Map(d);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(px)}\" x2=\"{F(px)}\" y1=\"{y.P1}\" y2=\"{y.P0}\" stroke=\"#f1f3f5\"/><text x=\"{F(px)}\" y=\"{y.P0 + 15}\" text-anchor=\"middle\">{E(xl(d))}</text>");
        }
        foreach (var d in yTicks ?? y.Decades())
        {
            double py = y.Map(d);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x.P0}\" x2=\"{x.P1}\" y1=\"{F(py)}\" y2=\"{F(py)}\" stroke=\"#f1f3f5\"/><text x=\"{x.P0 - 5}\" y=\"{F(py + 4)}\" text-anchor=\"end\">{E(yl(d))}</text>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F((x.P0 + x.P1) / 2)}\" y=\"{h - 6}\" text-anchor=\"middle\" style=\"font-size:12px\">{E(xTitle)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(13,{F((y.P0 + y.P1) / 2)}) rotate(-90)\" text-anchor=\"middle\" style=\"font-size:12px\">{E(yTitle)}</text>");
    }

    private static void Legend(StringBuilder sb, double x, double y, CompareResult r)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x}\" cy=\"{y}\" r=\"5\" fill=\"{WaferColor}\"/><text x=\"{x + 9}\" y=\"{y + 4}\">{E(r.Wafer)} systems</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x + 110}\" cy=\"{y}\" r=\"5\" fill=\"{GpuColor}\"/><text x=\"{x + 119}\" y=\"{y + 4}\">{E(r.Gpu)} GPUs</text>");
    }

    private static void ScalingChart(StringBuilder sb, CompareResult r)
    {
        const int W = 530, H = 380;
        var counts = r.Configs.Select(c => (double)c.Count).ToList();
        var times = r.Configs.Where(c => c.Fits).Select(c => c.TimeToGoalS!.Value).ToList();
        var x = new Axis(counts.Min() / 1.6, counts.Max() * 1.6, 70, W - 50);
        var (y, yTicks) = Axis.Time(times, H - 45, 45);
        var ticks = counts.Distinct().OrderBy(v => v).ToList();
        sb.Append("<figure class=\"chart\" id=\"chart-scaling\"><figcaption>Time to goal vs number of devices (log–log)</figcaption>");
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\">");
        Frame(sb, W, H, x, y, v => F(v, "0"), TimeTick, "systems / GPUs", "time to goal", ticks, yTicks);
        Legend(sb, x.P0 + 10, 22, r);
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x.P1}\" y=\"26\" text-anchor=\"end\">✕ on top = does not fit</text>");
        foreach (var kind in new[] { "wafer", "gpu" })
        {
            var pts = r.Configs.Where(c => c.Kind == kind && c.Fits).OrderBy(c => c.Count).Select(c => $"{F(x.Map(c.Count))},{F(y.Map(c.TimeToGoalS!.Value))}").ToList();
            if (pts.Count > 1) sb.Append("<polyline fill=\"none\" stroke=\"").Append(Color(kind)).Append("\" stroke-width=\"2\" points=\"").Append(string.Join(" ", pts)).Append("\"/>");
        }
        foreach (var c in r.Configs)
        {
            double cx = x.Map(c.Count);
            if (c.Fits)
            {
                double cy = y.Map(c.TimeToGoalS!.Value);
                sb.Append(CultureInfo.InvariantCulture, $"<circle class=\"pt\" data-config=\"{c.Id}\" data-kind=\"{c.Kind}\" data-fits=\"true\" cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"6\" fill=\"{Color(c.Kind)}\"><title>{E($"{Reports.Verdict.Label(c)}: {Reports.Verdict.Duration(c.TimeToGoalS.Value)} — {c.Plan}")}</title></circle>");
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(cx + 8)}\" y=\"{F(cy - 8)}\">{E(Reports.Verdict.Duration(c.TimeToGoalS.Value))}</text>");
            }
            else
            {
                double cy = y.P1 + (c.Kind == "wafer" ? 10 : 22);
                sb.Append(CultureInfo.InvariantCulture, $"<circle class=\"pt nofit\" data-config=\"{c.Id}\" data-kind=\"{c.Kind}\" data-fits=\"false\" cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"6\" fill=\"#fff\" stroke=\"{Color(c.Kind)}\" stroke-width=\"2\"><title>{E($"{Reports.Verdict.Label(c)}: does not fit — {c.Reason}")}</title></circle>");
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(cx)}\" y=\"{F(cy + 4)}\" text-anchor=\"middle\" style=\"fill:{Color(c.Kind)};font-weight:700\">✕</text>");
            }
        }
        sb.Append("</svg></figure>");
    }

    /// <summary>The configurations no other one beats on both time and cost (fitting configurations only), fastest first.</summary>
    public static IReadOnlyList<TrainingConfig> ParetoFront(IEnumerable<TrainingConfig> configs)
    {
        var fit = configs.Where(c => c.Fits).OrderBy(c => c.TimeToGoalS).ThenBy(c => c.CostUsd).ToList();
        var front = new List<TrainingConfig>();
        double bestCost = double.PositiveInfinity;
        foreach (var c in fit)
            if (c.CostUsd!.Value < bestCost) { front.Add(c); bestCost = c.CostUsd.Value; }
        return front;
    }

    private static void ParetoChart(StringBuilder sb, CompareResult r)
    {
        const int W = 530, H = 380;
        var fit = r.Configs.Where(c => c.Fits).ToList();
        var (x, xTicks) = Axis.Time(fit.Select(c => c.TimeToGoalS!.Value), 70, W - 20);
        var y = Axis.Of(fit.Select(c => c.CostUsd!.Value), H - 45, 45);
        var front = ParetoFront(fit);
        sb.Append("<figure class=\"chart\" id=\"chart-pareto\"><figcaption>Cost vs time to goal (log–log), Pareto front dashed</figcaption>");
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\">");
        Frame(sb, W, H, x, y, TimeTick, Reports.Verdict.Money, "time to goal", "cost", xTicks);
        Legend(sb, x.P0 + 10, 22, r);
        if (front.Count > 1)
        {
            var pts = new List<string>();
            for (int i = 0; i < front.Count; i++)
            {
                double px = x.Map(front[i].TimeToGoalS!.Value), py = y.Map(front[i].CostUsd!.Value);
                if (i > 0) pts.Add($"{F(px)},{F(y.Map(front[i - 1].CostUsd!.Value))}");
                pts.Add($"{F(px)},{F(py)}");
            }
            sb.Append("<polyline class=\"front\" fill=\"none\" stroke=\"#495057\" stroke-dasharray=\"5 4\" stroke-width=\"1.5\" points=\"").Append(string.Join(" ", pts)).Append("\"/>");
        }
        foreach (var c in fit)
        {
            double cx = x.Map(c.TimeToGoalS!.Value), cy = y.Map(c.CostUsd!.Value);
            bool onFront = front.Contains(c);
            sb.Append(CultureInfo.InvariantCulture, $"<circle class=\"pp\" data-config=\"{c.Id}\" data-kind=\"{c.Kind}\" data-pareto=\"{(onFront ? "true" : "false")}\" cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"{(onFront ? 7 : 5)}\" fill=\"{Color(c.Kind)}\" fill-opacity=\"{(onFront ? "1" : "0.55")}\"><title>{E($"{Reports.Verdict.Label(c)}: {Reports.Verdict.Duration(c.TimeToGoalS.Value)}, {Reports.Verdict.Money(c.CostUsd.Value)}{(onFront ? " (Pareto-optimal)" : "")}")}</title></circle>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(cx + 8)}\" y=\"{F(cy + 14)}\">{E(Reports.Verdict.Label(c))}</text>");
        }
        if (fit.Count == 0) sb.Append("<text x=\"265\" y=\"190\" text-anchor=\"middle\">no configuration fits</text>");
        sb.Append("</svg></figure>");
    }

    private static void BreakdownChart(StringBuilder sb, CompareResult r)
    {
        const int W = 1100, Row = 26, Left = 200, Right = 120;
        int h = 56 + Row * r.Configs.Count;
        sb.Append("<figure class=\"chart\" id=\"chart-breakdown\"><figcaption>Where each step's time goes</figcaption>");
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" role=\"img\">");
        double lx = Left;
        foreach (var p in Parts)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(lx)}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{p.Color}\"/><text x=\"{F(lx + 16)}\" y=\"18\">{E(p.Label)}</text>");
            lx += 30 + p.Label.Length * 6.5;
        }
        double barW = W - Left - Right;
        int i = 0;
        foreach (var c in r.Configs)
        {
            double y = 34 + i++ * Row;
            sb.Append(CultureInfo.InvariantCulture, $"<g data-config=\"{c.Id}\"><text x=\"{Left - 8}\" y=\"{F(y + 14)}\" text-anchor=\"end\">{E(c.Kind == "wafer" ? "wafer " : "GPU ")}{E(Reports.Verdict.Label(c))}</text>");
            if (c.Breakdown is { } b && b.TotalS > 0)
            {
                double[] v = [b.ComputeS, b.CommunicationS, b.BubbleS, b.WeightIoS, b.OtherS];
                double x = Left;
                for (int k = 0; k < v.Length; k++)
                {
                    double w = v[k] / b.TotalS * barW;
                    if (w <= 0) continue;
                    sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"seg\" data-config=\"{c.Id}\" data-part=\"{Parts[k].Key}\" x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(w)}\" height=\"{Row - 6}\" fill=\"{Parts[k].Color}\"><title>{E($"{Parts[k].Label}: {F(v[k] / b.TotalS * 100, "0.#")}% ({Reports.Verdict.Seconds(v[k])})")}</title></rect>");
                    x += w;
                }
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + barW + 6}\" y=\"{F(y + 14)}\">{E(Reports.Verdict.Seconds(b.TotalS))}/step</text>");
            }
            else sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 4}\" y=\"{F(y + 14)}\" style=\"fill:#868e96\">does not fit — {E(Trim(c.Reason ?? "", 120))}</text>");
            sb.Append("</g>");
        }
        sb.Append("</svg></figure>");
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..n] + "…";

    private static void InferenceTable(StringBuilder sb, CompareResult r)
    {
        var q = r.InferenceRequest!;
        sb.Append("<h2>Inference</h2><p class=\"sub\">").Append(q.Batch).Append(" concurrent request(s), prompt ").Append(q.PromptLen).Append(" tokens, ").Append(q.NewTokens).Append(" new tokens each.</p>");
        sb.Append("<table id=\"inference\"><tr><th class=\"l\">config</th><th class=\"l\">fits</th><th class=\"l\">mapping</th><th>time to first token</th><th>tokens/s per user</th><th>tokens/s total</th><th>power</th><th>energy per token</th><th>$ per 1M tokens</th></tr>");
        foreach (var c in r.Inference)
        {
            sb.Append("<tr data-config=\"inf-").Append(c.Id).Append("\"").Append(c.Fits ? "" : " class=\"nofit\"").Append("><td class=\"l\"><span class=\"tag ").Append(c.Kind).Append("\">").Append(c.Kind).Append("</span> ")
              .Append(c.Count).Append(" × ").Append(E(c.Device)).Append("</td><td class=\"l\">").Append(c.Fits ? "yes" : "<b>no</b>: " + E(c.Reason ?? "")).Append("</td><td class=\"l\">").Append(E(c.Plan)).Append("</td><td>")
              .Append(Opt(c.TtftS, Reports.Verdict.Seconds)).Append("</td><td>").Append(Opt(c.TokensPerSPerUser, v => F(v, v < 10 ? "0.##" : "N0"))).Append("</td><td>")
              .Append(Opt(c.TokensPerS, v => F(v, v < 10 ? "0.##" : "N0"))).Append("</td><td>").Append(Opt(c.PowerKw, v => F(v, "0.#") + " kW")).Append("</td><td>")
              .Append(Opt(c.EnergyPerTokenJ, v => F(v, v < 10 ? "0.###" : "N0") + " J")).Append("</td><td>").Append(Opt(c.CostPerMillionTokensUsd, Reports.Verdict.Money)).Append("</td></tr>");
        }
        sb.Append("</table>");
    }

    private static void Assumptions(StringBuilder sb, CompareResult r)
    {
        sb.Append("<h2>Assumptions</h2><table id=\"assumptions\"><tr><th class=\"l\">what</th><th class=\"l\">value</th><th class=\"l\">source / override</th></tr>");
        foreach (var a in r.Assumptions)
            sb.Append("<tr><td class=\"l\">").Append(E(a.Name)).Append("</td><td class=\"l\">").Append(E(a.Value)).Append("</td><td class=\"l\">").Append(E(a.Source)).Append("</td></tr>");
        sb.Append("</table>");
    }
}
