using WaferSharp.Hardware;

namespace WaferSharp.Compiler.Routing;

/// <summary>A route could not be laid: every path crosses a router with no free color.</summary>
public sealed class RoutingException(string message) : InvalidOperationException(message);

/// <summary>
/// Lays routes on the fabric: dimension-order paths (X then Y, else Y then X, else a breadth-first detour around dead
/// PEs), one color per segment, at most the router's colors per PE, a software relay wherever no single color is free
/// along the whole path. Counts wavelets per link for the link-load map.
/// </summary>
public sealed class Router
{
    private readonly int _w, _h, _budget;
    private readonly DefectMap? _defects;
    private readonly int[] _colorMask;     // per PE: colors in use (bit i = color i)
    private readonly float[] _linkLoad;    // per PE × 4 directions (E, W, S, N): wavelets leaving the PE
    private float[]? _mine;                // Carry's scratch: one route's wavelets per link
    private readonly List<long> _touched = new();

    /// <summary>A router over a W × H fabric with <paramref name="colorBudget"/> colors per PE for routes and kernels.</summary>
    public Router(int width, int height, int colorBudget, DefectMap? defects)
    {
        if (colorBudget < 1 || colorBudget > 31) throw new ArgumentOutOfRangeException(nameof(colorBudget), "color budget must be 1..31");
        _w = width; _h = height; _budget = colorBudget; _defects = defects;
        _colorMask = new int[(long)width * height];
        _linkLoad = new float[(long)width * height * 4];
    }

    /// <summary>Colors in use at a PE.</summary>
    public int ColorsAt(int x, int y) => System.Numerics.BitOperations.PopCount((uint)_colorMask[(long)y * _w + x]);

    /// <summary>The most colors used by any PE.</summary>
    public int MaxColors()
    {
        int m = 0;
        foreach (var c in _colorMask) m = Math.Max(m, System.Numerics.BitOperations.PopCount((uint)c));
        return m;
    }

    /// <summary>Wavelets on the busiest link.</summary>
    public double MaxLinkLoad()
    {
        float m = 0;
        foreach (var l in _linkLoad) m = Math.Max(m, l);
        return m;
    }

    /// <summary>Wavelets leaving PE (x, y) in direction d (0 E, 1 W, 2 S, 3 N).</summary>
    public float LinkLoad(int x, int y, int d) => _linkLoad[((long)y * _w + x) * 4 + d];

    /// <summary>Reserves the lowest <paramref name="count"/> colors on every PE of a region (kernel-internal routes).</summary>
    public void ReserveKernelColors(RegionRect r, int count)
    {
        int mask = count >= 31 ? int.MaxValue : (1 << count) - 1;
        for (int y = r.Y; y < r.Y + r.H; y++)
            for (int x = r.X; x < r.X + r.W; x++)
                _colorMask[(long)y * _w + x] |= mask;
    }

    /// <summary>Lays one lane from (sx, sy) to (dx, dy) carrying <paramref name="words"/> wavelets.</summary>
    public RouteLane Route(int sx, int sy, int dx, int dy, double words) =>
        TryRoute(sx, sy, dx, dy, words) ?? throw Congested(sx, sy, dx, dy);

    /// <summary>Like <see cref="Route"/>, but null when no path has a free color at every router.</summary>
    public RouteLane? TryRoute(int sx, int sy, int dx, int dy, double words)
    {
        foreach (var path in Candidates(sx, sy, dx, dy))
        {
            var lane = TryColor(path, words);
            if (lane is not null) return lane;
        }
        return null;
    }

    /// <summary>
    /// Splits <paramref name="words"/> wavelets over lanes already laid (with zero words) and counts them on every link
    /// each lane crosses: lane l carries ⌊words / n⌋, plus one for the first words mod n lanes, so the lanes carry
    /// exactly the route's wavelets however many lanes the route ended up with. Returns the most wavelets of this
    /// route on any one link (lanes rerouted around congestion may share links): its transfer time.
    /// </summary>
    public double Carry(IReadOnlyList<RouteLane> lanes, double words)
    {
        if (lanes.Count == 0) return 0;
        _mine ??= new float[_linkLoad.Length];
        _touched.Clear();
        float busiest = 0;
        double total = Math.Max(0, Math.Ceiling(words));
        double share = Math.Floor(total / lanes.Count), extra = total - share * lanes.Count;
        for (int l = 0; l < lanes.Count; l++)
        {
            var lane = lanes[l];
            double w = share + (l < extra ? 1 : 0);
            lane.Words += w;
            for (int c = 0; c + 1 < lane.Path.Count; c++)
            {
                int x = lane.Path[c][0], y = lane.Path[c][1], tx = lane.Path[c + 1][0], ty = lane.Path[c + 1][1];
                while (x != tx || y != ty)
                {
                    int nx = x + Math.Sign(tx - x), ny = nx == x ? y + Math.Sign(ty - y) : y;
                    int d = nx > x ? 0 : nx < x ? 1 : ny > y ? 2 : 3;
                    long at = ((long)y * _w + x) * 4 + d;
                    _linkLoad[at] += (float)w;
                    if (_mine[at] == 0) _touched.Add(at);
                    _mine[at] += (float)w;
                    busiest = Math.Max(busiest, _mine[at]);
                    x = nx; y = ny;
                }
            }
        }
        foreach (long at in _touched) _mine[at] = 0;
        return busiest;
    }

    /// <summary>Wavelets summed over every link (each wavelet counted once per hop).</summary>
    public double TotalLinkLoad()
    {
        double s = 0;
        foreach (var l in _linkLoad) s += l;
        return s;
    }

    /// <summary>The error for a route that cannot be laid.</summary>
    public RoutingException Congested(int sx, int sy, int dx, int dy) => new RoutingException($"cannot route ({sx},{sy}) → ({dx},{dy}): every path crosses a router whose {_budget} colors are all in use; use a larger fabric or a smaller model");

    private IEnumerable<List<(int X, int Y)>> Candidates(int sx, int sy, int dx, int dy)
    {
        if (_defects is not null && (_defects.IsDead(sx, sy) || _defects.IsDead(dx, dy))) yield break; // the caller picks other end points
        var xy = Manhattan(sx, sy, dx, dy, xFirst: true);
        if (Alive(xy)) yield return xy;
        var yx = Manhattan(sx, sy, dx, dy, xFirst: false);
        if (Alive(yx)) yield return yx;
        if (_defects is null || _defects.DeadCount == 0) yield break; // dimension-order paths are all there is without dead PEs
        var bfs = Detour(sx, sy, dx, dy);
        if (bfs is not null) yield return bfs;
    }

    private bool Alive(List<(int X, int Y)> path)
    {
        if (_defects is null || _defects.DeadCount == 0) return true;
        foreach (var (x, y) in path) if (_defects.IsDead(x, y)) return false;
        return true;
    }

    private static List<(int X, int Y)> Manhattan(int sx, int sy, int dx, int dy, bool xFirst)
    {
        var p = new List<(int, int)>(Math.Abs(dx - sx) + Math.Abs(dy - sy) + 1) { (sx, sy) };
        int x = sx, y = sy;
        void StepX() { while (x != dx) { x += Math.Sign(dx - x); p.Add((x, y)); } }
        void StepY() { while (y != dy) { y += Math.Sign(dy - y); p.Add((x, y)); } }
        if (xFirst) { StepX(); StepY(); } else { StepY(); StepX(); }
        return p;
    }

    // Breadth-first search around dead PEs, inside the bounding box grown by a margin.
    private List<(int X, int Y)>? Detour(int sx, int sy, int dx, int dy)
    {
        int m = 8;
        int x0 = Math.Max(0, Math.Min(sx, dx) - m), x1 = Math.Min(_w - 1, Math.Max(sx, dx) + m);
        int y0 = Math.Max(0, Math.Min(sy, dy) - m), y1 = Math.Min(_h - 1, Math.Max(sy, dy) + m);
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
        var prev = new int[bw * bh];
        Array.Fill(prev, -1);
        var q = new Queue<int>();
        int start = (sy - y0) * bw + (sx - x0), goal = (dy - y0) * bw + (dx - x0);
        prev[start] = start;
        q.Enqueue(start);
        while (q.Count > 0)
        {
            int c = q.Dequeue();
            if (c == goal) break;
            int cx = c % bw, cy = c / bw;
            foreach (var (nx, ny) in new[] { (cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1) })
            {
                if (nx < 0 || ny < 0 || nx >= bw || ny >= bh) continue;
                int n = ny * bw + nx;
                if (prev[n] >= 0 || (_defects?.IsDead(nx + x0, ny + y0) ?? false)) continue;
                prev[n] = c;
                q.Enqueue(n);
            }
        }
        if (prev[goal] < 0) return null;
        var path = new List<(int, int)>();
        for (int c = goal; ; c = prev[c]) { path.Add((c % bw + x0, c / bw + y0)); if (c == start) break; }
        path.Reverse();
        return path;
    }

    private RouteLane? TryColor(List<(int X, int Y)> path, double words)
    {
        int full = _budget >= 31 ? int.MaxValue : (1 << _budget) - 1;
        foreach (var (x, y) in path)
            if ((_colorMask[(long)y * _w + x] & full) == full) return null; // a router with no free color
        var lane = new RouteLane { Hops = path.Count - 1, Words = words };
        int segStart = 0;
        while (segStart < path.Count)
        {
            int free = full, i = segStart, lastFree = 0;
            for (; i < path.Count; i++)
            {
                int f = free & ~_colorMask[(long)path[i].Y * _w + path[i].X];
                if (f == 0) break;
                free = f; lastFree = f;
            }
            int color = System.Numerics.BitOperations.TrailingZeroCount(lastFree);
            for (int j = segStart; j < i; j++) _colorMask[(long)path[j].Y * _w + path[j].X] |= 1 << color;
            lane.Colors.Add(color);
            if (segStart > 0) lane.RelayAt.Add(segStart);
            if (i >= path.Count) break;
            segStart = i; // the relay PE starts the next segment
        }
        for (int j = 0; j + 1 < path.Count; j++)
        {
            var (ax, ay) = path[j]; var (bx, by) = path[j + 1];
            int d = bx > ax ? 0 : bx < ax ? 1 : by > ay ? 2 : 3;
            _linkLoad[((long)ay * _w + ax) * 4 + d] += (float)words;
        }
        lane.Path = Corners(path);
        return lane;
    }

    private static List<int[]> Corners(List<(int X, int Y)> path)
    {
        var c = new List<int[]> { new[] { path[0].X, path[0].Y } };
        for (int i = 1; i + 1 < path.Count; i++)
        {
            var (ax, ay) = path[i - 1]; var (bx, by) = path[i]; var (cx, cy) = path[i + 1];
            if ((bx - ax, by - ay) != (cx - bx, cy - by)) c.Add(new[] { bx, by });
        }
        if (path.Count > 1) c.Add(new[] { path[^1].X, path[^1].Y });
        return c;
    }
}
