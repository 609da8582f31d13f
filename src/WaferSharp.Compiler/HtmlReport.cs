using System.Globalization;
using System.Net;
using System.Text;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Compiler;

/// <summary>
/// A self-contained HTML report of a <see cref="WaferProgram"/>: the wafer as an SVG heatmap of regions (hover shows
/// the kernels), SRAM use per PE, the per-kernel cycle table and the bottleneck. No scripts, no external files.
/// </summary>
public static class HtmlReport
{
    private static string F(double x, string fmt = "0.###") => x.ToString(fmt, CultureInfo.InvariantCulture);
    private static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>Renders the report.</summary>
    public static string Render(WaferProgram prog)
    {
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>WaferSharp plan: ").Append(E(prog.Device)).Append("</title>");
        sb.Append("<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td.l,th.l{text-align:left}h2{margin-top:28px}.maps{display:flex;gap:24px;flex-wrap:wrap}.kv td{text-align:left}</style></head><body>");
        sb.Append("<h1>Wafer plan: ").Append(E(prog.Device)).Append(", ").Append(E(prog.Mode)).Append(", ").Append(E(prog.Task)).Append("</h1>");
        sb.Append("<table class=\"kv\">");
        void Row(string k, string v) => sb.Append("<tr><th class=\"l\">").Append(E(k)).Append("</th><td>").Append(E(v)).Append("</td></tr>");
        Row("mode", $"{prog.Mode} — {prog.ModeReason}");
        Row("bottleneck", prog.Bottleneck);
        Row("step", $"{F(prog.StepCycles, "N0")} cycles = {F(prog.StepTimeS * 1e3, "0.###")} ms");
        Row("throughput", $"{F(prog.SamplesPerS, "0.##")} samples/s" + (prog.TokensPerS is { } t ? $", {F(t, "N0")} tokens/s" : ""));
        Row("compute", $"{F(prog.Tflops, "0.##")} TFLOP/s of {F(prog.PeakTflops, "0.#")} peak ({F(prog.Utilization * 100, "0.#")}%)");
        Row("fabric", $"{prog.Fabric.Width}x{prog.Fabric.Height}, {prog.Fabric.UsablePes:N0} usable PEs, {prog.Fabric.DefectivePes} defective; {prog.PesUsed:N0} used");
        Row("SRAM", $"max {F(prog.SramBytesMaxPerPe / 1024.0, "0.#")} KiB per PE");
        Row("host I/O", $"{F(prog.HostIoS * 1e3, "0.###")} ms per step (not in the step time)");
        if (prog.DecodeTokensPerS is { } d) Row("inference", $"prefill {F(prog.PrefillTokensPerS ?? 0, "N0")} tokens/s, decode {F(d, "0.#")} tokens/s per sequence, {prog.SystemsNeeded} system(s)");
        foreach (var n in prog.Notes) Row("note", n);
        sb.Append("</table>");

        sb.Append("<h2>Wafer</h2><div class=\"maps\">");
        Heatmap(sb, prog, "Regions by cycles per step (hover: kernels)", r => r.StageCycles, true);
        Heatmap(sb, prog, "SRAM per PE (bytes)", r => r.SramBytesPerPe, false);
        sb.Append("</div>");

        sb.Append("<h2>Kernels</h2><table><tr><th>#</th><th class=\"l\">name</th><th class=\"l\">op</th><th class=\"l\">algorithm</th><th class=\"l\">phase</th><th>region</th><th>grid</th><th>cycles</th><th>compute</th><th>comm</th><th>SRAM/PE</th></tr>");
        int shown = 0;
        foreach (var k in prog.Kernels.OrderByDescending(k => k.Cycles))
        {
            if (shown++ >= 500) break;
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{k.Id}</td><td class=\"l\">{E(k.Name)}</td><td class=\"l\">{E(k.Op)}</td><td class=\"l\">{E(k.Algorithm)}</td><td class=\"l\">{k.Phase}</td><td>{k.Region.X},{k.Region.Y} {k.Region.W}x{k.Region.H}</td><td>{k.Grid[0]}x{k.Grid[1]}</td><td>{F(k.Cycles, "N0")}</td><td>{F(k.ComputeCycles, "N0")}</td><td>{F(k.CommCycles, "N0")}</td><td>{k.SramBytesPerPe:N0}</td></tr>");
        }
        sb.Append("</table>");
        if (prog.Kernels.Count > 500) sb.Append("<p>").Append(prog.Kernels.Count - 500).Append(" more kernels in the JSON plan.</p>");
        sb.Append("</body></html>");
        return sb.ToString();
    }

    /// <summary>
    /// The wafer as an inline SVG heatmap of regions colored by cycles per step (hover: kernels), inside a
    /// <c>&lt;figure&gt;</c>; for embedding in other reports (e.g. the wafer-vs-GPU comparison).
    /// </summary>
    public static string WaferHeatmap(WaferProgram prog, string title = "Regions by cycles per step (hover: kernels)")
    {
        ArgumentNullException.ThrowIfNull(prog);
        var sb = new StringBuilder();
        Heatmap(sb, prog, title, r => r.StageCycles, true);
        return sb.ToString();
    }

    private static void Heatmap(StringBuilder sb, WaferProgram prog, string title, Func<ProgramRegion, double> value, bool kernels)
    {
        var fab = prog.Fabric;
        double scale = Math.Min(560.0 / fab.Width, 560.0 / fab.Height);
        double w = fab.Width * scale, h = fab.Height * scale;
        double max = prog.Regions.Count == 0 ? 1 : Math.Max(1e-9, prog.Regions.Max(value));
        sb.Append("<figure><figcaption>").Append(E(title)).Append("</figcaption>");
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(w, "0")}\" height=\"{F(h, "0")}\" viewBox=\"0 0 {F(w, "0.##")} {F(h, "0.##")}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"0\" width=\"{F(w, "0.##")}\" height=\"{F(h, "0.##")}\" fill=\"#eee\"/>");
        foreach (var r in prog.Regions.Where(r => r.System == 0))
        {
            double v = value(r) / max;
            string color = $"hsl({F(240 - 240 * v, "0")},80%,{F(55 - 10 * v, "0")}%)";
            var names = string.Join("\n", r.Kernels.Take(8).Select(k => prog.Kernels[k].Name + " (" + prog.Kernels[k].Family + ")"));
            if (r.Kernels.Count > 8) names += $"\n… {r.Kernels.Count - 8} more";
            string tip = kernels ? $"region {r.Id} {r.Rect.W}x{r.Rect.H}: {F(r.StageCycles, "N0")} cycles\n{names}" : $"region {r.Id}: {r.SramBytesPerPe:N0} bytes/PE (resident {r.ResidentBytesPerPe:N0}, working {r.WorkingBytesPerPe:N0}, code {r.CodeBytesPerPe:N0})";
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(r.Rect.X * scale, "0.##")}\" y=\"{F(r.Rect.Y * scale, "0.##")}\" width=\"{F(Math.Max(0.5, r.Rect.W * scale), "0.##")}\" height=\"{F(Math.Max(0.5, r.Rect.H * scale), "0.##")}\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"0.3\"><title>{E(tip)}</title></rect>");
        }
        foreach (var d in fab.DeadPes.Take(20000))
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(d[0] * scale, "0.##")}\" y=\"{F(d[1] * scale, "0.##")}\" width=\"{F(Math.Max(1, scale), "0.##")}\" height=\"{F(Math.Max(1, scale), "0.##")}\" fill=\"#000\"><title>dead PE ({d[0]}, {d[1]})</title></rect>");
        sb.Append("</svg></figure>");
    }

    /// <summary>Writes the report atomically (temp file, then rename).</summary>
    public static void Save(WaferProgram prog, string path) => AtomicFile.WriteAllText(path, Render(prog));
}
