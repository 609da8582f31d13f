using System.Globalization;
using System.Text;
using System.Text.Json;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Fabric;

/// <summary>
/// Observability outputs of a run: a Chrome trace-event JSON (opens in Perfetto / chrome://tracing; one track per PE
/// with its task spans, one track with the kernels' phases; 1 µs in the viewer = 1 cycle) and an SVG heatmap of the
/// wavelets each link carried. Files are written atomically (temp file, then rename).
/// </summary>
public static class FabricReports
{
    /// <summary>Writes the Chrome trace of <paramref name="sim"/> (needs <see cref="FabricOptions.Trace"/> for task spans).</summary>
    public static void WriteChromeTrace(FabricSimulator sim, string path)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("displayTimeUnit", "ns");
            w.WriteStartArray("traceEvents");
            w.WriteStartObject();
            w.WriteString("name", "process_name"); w.WriteString("ph", "M"); w.WriteNumber("pid", 0);
            w.WriteStartObject("args"); w.WriteString("name", $"fabric {sim.Width}x{sim.Height} (1 us = 1 cycle)"); w.WriteEndObject();
            w.WriteEndObject();
            foreach (var ph in sim.Phases)
            {
                w.WriteStartObject();
                w.WriteString("name", ph.Name); w.WriteString("cat", "kernel"); w.WriteString("ph", "X");
                w.WriteNumber("ts", ph.Start); w.WriteNumber("dur", Math.Max(1, ph.End - ph.Start));
                w.WriteNumber("pid", 0); w.WriteNumber("tid", -1);
                w.WriteEndObject();
            }
            var seen = new HashSet<int>();
            foreach (var s in sim.Spans)
            {
                if (seen.Add(s.Pe))
                {
                    w.WriteStartObject();
                    w.WriteString("name", "thread_name"); w.WriteString("ph", "M"); w.WriteNumber("pid", 0); w.WriteNumber("tid", s.Pe);
                    w.WriteStartObject("args"); w.WriteString("name", $"PE ({s.Pe % sim.Width},{s.Pe / sim.Width})"); w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteStartObject();
                w.WriteString("name", s.Task); w.WriteString("cat", s.Program); w.WriteString("ph", "X");
                w.WriteNumber("ts", s.Start); w.WriteNumber("dur", Math.Max(1, s.End - s.Start));
                w.WriteNumber("pid", 0); w.WriteNumber("tid", s.Pe);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        AtomicFile.WriteAllBytes(path, ms.ToArray());
    }

    /// <summary>Writes an SVG heatmap: one cell per PE, with four bars per cell for the wavelets sent N, S, E, W.</summary>
    public static void WriteLinkHeatmap(FabricSimulator sim, string path, int maxCells = 256)
    {
        int w = sim.Width, h = sim.Height;
        int step = Math.Max(1, (Math.Max(w, h) + maxCells - 1) / maxCells); // large fabrics: one cell per step×step block
        int cw = (w + step - 1) / step, ch = (h + step - 1) / step;
        var load = new long[cw * ch * 4];
        long max = 1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int p = 0; p < 4; p++)
                {
                    long v = load[((y / step) * cw + x / step) * 4 + p] += sim.LinkWavelets(x, y, p);
                    if (v > max) max = v;
                }
        const int cell = 12;
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{cw * cell + 20}\" height=\"{ch * cell + 40}\">\n");
        sb.Append(ci, $"<text x=\"4\" y=\"14\" font-size=\"11\" font-family=\"sans-serif\">wavelets per link, {w}x{h} fabric{(step > 1 ? $" ({step}x{step} PEs per cell)" : "")}, max {max}</text>\n");
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
            {
                int ox = 10 + x * cell, oy = 24 + y * cell;
                sb.Append(ci, $"<rect x=\"{ox}\" y=\"{oy}\" width=\"{cell}\" height=\"{cell}\" fill=\"#f4f4f4\" stroke=\"#ddd\" stroke-width=\"0.5\"/>");
                for (int p = 0; p < 4; p++)
                {
                    long v = load[(y * cw + x) * 4 + p];
                    if (v == 0) continue;
                    double t = (double)v / max;
                    int r = (int)(255 * t), b = (int)(255 * (1 - t));
                    // N top, S bottom, E right, W left
                    var (rx, ry, rw, rh) = p switch { 0 => (ox + 3, oy, 6, 3), 1 => (ox + 3, oy + 9, 6, 3), 2 => (ox + 9, oy + 3, 3, 6), _ => (ox, oy + 3, 3, 6) };
                    sb.Append(ci, $"<rect x=\"{rx}\" y=\"{ry}\" width=\"{rw}\" height=\"{rh}\" fill=\"rgb({r},40,{b})\"><title>{v}</title></rect>");
                }
                sb.Append('\n');
            }
        sb.Append("</svg>\n");
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
