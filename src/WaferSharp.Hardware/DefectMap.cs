using System.Globalization;
using System.Text;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Hardware;

/// <summary>
/// Dead PEs of a fabric. The compiler never places a region on a dead PE and routes around it. Built at random
/// (a rate and a seed, deterministic) or read from a text file: an optional header line <c>fabric W H</c>, then one
/// dead PE per line as <c>x y</c> or <c>x,y</c>; <c>#</c> starts a comment.
/// </summary>
public sealed class DefectMap
{
    private readonly ulong[] _bits;
    private readonly List<(int X, int Y)> _dead = new();
    private int[]? _prefix; // (W+1)·(H+1) counts of dead PEs, built on first rectangle query

    /// <summary>An empty map (no dead PE) for a W × H fabric.</summary>
    public DefectMap(int width, int height)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"defect map: fabric {width}x{height} must be at least 1x1");
        Width = width; Height = height;
        _bits = new ulong[((long)width * height + 63) / 64];
    }

    /// <summary>Fabric width.</summary>
    public int Width { get; }
    /// <summary>Fabric height.</summary>
    public int Height { get; }
    /// <summary>Number of dead PEs.</summary>
    public int DeadCount => _dead.Count;
    /// <summary>Dead PEs in the order they were added.</summary>
    public IReadOnlyList<(int X, int Y)> Dead => _dead;

    /// <summary>True when (x, y) is dead; PEs outside the fabric count as dead.</summary>
    public bool IsDead(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return true;
        long i = (long)y * Width + x;
        return (_bits[i >> 6] & (1UL << (int)(i & 63))) != 0;
    }

    /// <summary>Marks (x, y) dead (idempotent).</summary>
    public void MarkDead(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"defect ({x}, {y}) is outside the {Width}x{Height} fabric");
        long i = (long)y * Width + x;
        ref ulong word = ref _bits[i >> 6];
        ulong bit = 1UL << (int)(i & 63);
        if ((word & bit) != 0) return;
        word |= bit;
        _dead.Add((x, y));
        _prefix = null;
    }

    /// <summary>Dead PEs inside the rectangle [x, x+w) × [y, y+h) (clipped to the fabric), in O(1) after the first call.</summary>
    public int CountDead(int x, int y, int w, int h)
    {
        if (_dead.Count == 0) return 0;
        int x0 = Math.Clamp(x, 0, Width), y0 = Math.Clamp(y, 0, Height);
        int x1 = Math.Clamp(x + w, 0, Width), y1 = Math.Clamp(y + h, 0, Height);
        if (x1 <= x0 || y1 <= y0) return 0;
        var p = _prefix ??= BuildPrefix();
        int s = Width + 1;
        return p[y1 * s + x1] - p[y0 * s + x1] - p[y1 * s + x0] + p[y0 * s + x0];
    }

    private int[] BuildPrefix()
    {
        int s = Width + 1;
        var p = new int[(long)s * (Height + 1)];
        foreach (var (x, y) in _dead) p[(y + 1) * s + x + 1]++;
        for (int y = 1; y <= Height; y++)
            for (int x = 1; x <= Width; x++)
                p[y * s + x] += p[(y - 1) * s + x] + p[y * s + x - 1] - p[(y - 1) * s + x - 1];
        return p;
    }

    /// <summary>
    /// Each PE dead independently with probability <paramref name="rate"/>, from <paramref name="seed"/>. Uses geometric
    /// gaps between dead PEs, so the cost follows the number of defects, not the fabric size.
    /// </summary>
    public static DefectMap Random(int width, int height, double rate, ulong seed)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentException($"--defect-rate must be in [0, 1), got {rate.ToString(CultureInfo.InvariantCulture)}");
        var map = new DefectMap(width, height);
        if (rate == 0) return map;
        long n = (long)width * height;
        ulong state = seed ^ 0xD1B54A32D192ED03UL;
        double logq = Math.Log(1 - rate);
        for (long i = -1; ;)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            double u = ((z >> 11) + 0.5) * (1.0 / (1UL << 53)); // (0, 1)
            i += 1 + (long)Math.Floor(Math.Log(u) / logq);
            if (i >= n || i < 0) break;
            map.MarkDead((int)(i % width), (int)(i / width));
        }
        return map;
    }

    /// <summary>Reads a defect file for a W × H fabric (see the class remarks for the format).</summary>
    public static DefectMap Load(string path, int width, int height)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"defect map not found: {path}", path);
        var map = new DefectMap(width, height);
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw;
            int hash = line.IndexOf('#');
            if (hash >= 0) line = line[..hash];
            var parts = line.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts[0] == "fabric")
            {
                if (parts.Length != 3 || parts[1] != width.ToString(CultureInfo.InvariantCulture) || parts[2] != height.ToString(CultureInfo.InvariantCulture))
                    throw new InvalidDataException($"{path}:{lineNo}: defect map is for fabric {string.Join(" ", parts.Skip(1))} but the device is {width}x{height}");
                continue;
            }
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int x)
                || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int y))
                throw new InvalidDataException($"{path}:{lineNo}: expected 'x y' (a dead PE), got '{raw.Trim()}'");
            if ((uint)x >= (uint)width || (uint)y >= (uint)height)
                throw new InvalidDataException($"{path}:{lineNo}: dead PE ({x}, {y}) is outside the {width}x{height} fabric");
            map.MarkDead(x, y);
        }
        return map;
    }

    /// <summary>Writes the map in the text format <see cref="Load"/> reads (atomically: temp file, then rename).</summary>
    public void Save(string path)
    {
        var sb = new StringBuilder();
        sb.Append("# WaferSharp defect map: one dead PE per line as 'x y'\n");
        sb.Append(CultureInfo.InvariantCulture, $"fabric {Width} {Height}\n");
        foreach (var (x, y) in _dead) sb.Append(CultureInfo.InvariantCulture, $"{x} {y}\n");
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
