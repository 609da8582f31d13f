using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using WaferSharp.Reports;

namespace WaferSharp.Tests.Reports;

/// <summary>A fact that runs only where headless Chromium is installed (skipped with a message saying how to get it).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path)) Skip = $"{Path} not found: install Debian's chromium (apt-get install chromium) to render the report in a headless browser";
    }
}

/// <summary>End to end: the comparison report rendered by headless Chromium — a real screenshot, chart points in the DOM, no script errors.</summary>
public class ReportBrowserTests(CompareFixture fx) : IClassFixture<CompareFixture>
{
    private static (int Code, string Out, string Err) Chromium(string userDir, params string[] args)
    {
        var psi = new ProcessStartInfo(ChromiumFactAttribute.Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={userDir}" }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("chromium did not finish in 120 s"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [ChromiumFact]
    public void RendersWithChartPointsAndNoScriptErrors()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"report-browser-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string html = Path.Combine(dir, "compare.html"), png = Path.Combine(dir, "shot.png");
            CompareReport.Save(fx.Result, html);
            string url = new Uri(html).AbsoluteUri;

            var shot = Chromium(Path.Combine(dir, "profile1"), $"--screenshot={png}", "--window-size=1280,2000", url);
            Assert.True(File.Exists(png), $"no screenshot (exit {shot.Code}): {shot.Err}");
            AssertNonBlankPng(File.ReadAllBytes(png), 1280, 2000);

            var dom = Chromium(Path.Combine(dir, "profile2"), "--dump-dom", "--virtual-time-budget=2000", url);
            Assert.True(dom.Code == 0, $"chromium --dump-dom exit {dom.Code}: {dom.Err}");
            string d = dom.Out;
            Assert.DoesNotContain("id=\"script-error\"", d);
            int configs = fx.Result.Configs.Count;
            // the inline script ran to its end and counted the points it saw
            Assert.Contains($"data-ready=\"{configs}\"", d);
            Assert.Equal(configs, Regex.Matches(d, "<circle class=\"pt[ \"]").Count);
            Assert.Equal(fx.Result.Configs.Count(c => c.Fits), Regex.Matches(d, "<circle class=\"pp\"").Count);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Checks the PNG's header and size, and that its pixels are not all one colour.</summary>
    private static void AssertNonBlankPng(byte[] png, int width, int height)
    {
        Assert.True(png.Length > 8 && png[0] == 0x89 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', "not a PNG");
        int w = ReadBE(png, 16), h = ReadBE(png, 20);
        Assert.Equal((width, height), (w, h));
        using var idat = new MemoryStream();
        for (int pos = 8; pos + 8 <= png.Length;)
        {
            int len = ReadBE(png, pos);
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            if (type == "IDAT") idat.Write(png, pos + 8, len);
            pos += 12 + len;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        int bpp = png[25] == 6 ? 4 : 3; // RGBA or RGB, 8 bits
        int stride = w * bpp + 1;
        Assert.Equal((long)stride * h, bytes.Length);
        // undo the scanline filters just enough to count colours: sample distinct pixel values over the image
        var prev = new byte[w * bpp];
        var cur = new byte[w * bpp];
        var colours = new HashSet<int>();
        for (int y = 0; y < h; y++)
        {
            int f = bytes[y * stride];
            for (int i = 0; i < w * bpp; i++)
            {
                int x = bytes[y * stride + 1 + i];
                int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                cur[i] = (byte)(f switch
                {
                    0 => x,
                    1 => x + a,
                    2 => x + b,
                    3 => x + (a + b) / 2,
                    _ => x + Paeth(a, b, c),
                });
            }
            if (y % 4 == 0)
                for (int px = 0; px < w; px += 2) colours.Add(cur[px * bpp] << 16 | cur[px * bpp + 1] << 8 | cur[px * bpp + 2]);
            (prev, cur) = (cur, prev);
        }
        Assert.True(colours.Count > 50, $"the screenshot looks blank: {colours.Count} distinct colours");
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static int ReadBE(byte[] b, int i) => b[i] << 24 | b[i + 1] << 16 | b[i + 2] << 8 | b[i + 3];
}
