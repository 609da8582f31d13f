using WaferSharp.Compiler;

namespace WaferSharp.Fabric.Programs;

/// <summary>
/// One inter-region transfer of a compiled program (a <see cref="ProgramRoute"/>) as wavelet streams along the
/// compiler's lanes: the value's elements are split evenly over the lanes; each lane's source PE streams its share onto
/// the first segment's color, routers forward it hop by hop along the dimension-order path, relay PEs receive it on one
/// color and resend it on the next, and the destination PE writes it to SRAM. The routes are set per PE from the lane
/// geometry at load time; the program is loaded on the lanes' bounding box (PEs off the lanes do nothing).
/// </summary>
public sealed class RouteTransferProgram : PeProgram
{
    private enum Kind : byte { Send, Receive, Relay }
    private readonly record struct Action(Kind Kind, int Address, int Length, int ColorIn, int ColorOut);

    private readonly Dictionary<int, List<Action>> _actions = new();
    private readonly Dictionary<(int Pe, int Color), (Ports Rx, Ports Tx)> _routes = new();
    private readonly Dictionary<int, List<(int Color, Ports Rx, Ports Tx)>> _routesOf = new();
    private readonly int _width;

    /// <summary>Per lane: the fabric (x, y) of its source and destination PEs and the SRAM address its share sits at on each.</summary>
    public IReadOnlyList<(int Sx, int Sy, int SAddr, int Dx, int Dy, int DAddr, int Length)> Ends => _ends;
    private readonly List<(int, int, int, int, int, int, int)> _ends = new();

    /// <summary>The bounding box of the lanes.</summary>
    public Region Box { get; }

    /// <summary>
    /// Builds the transfer of <paramref name="counts"/>[i] elements over lane i of <paramref name="route"/> on a fabric
    /// <paramref name="width"/> PEs wide. Throws <see cref="InvalidOperationException"/> when two lanes need different
    /// routes for one color on one PE.
    /// </summary>
    public RouteTransferProgram(ProgramRoute route, int[] counts, int width) : this(route, counts, width, null) { }

    /// <summary>
    /// As above, with lane i's share read from byte <paramref name="addresses"/>(i).Source on its source PE and written to
    /// .Destination on its destination PE (null: allocated from address 0 on each PE).
    /// </summary>
    public RouteTransferProgram(ProgramRoute route, int[] counts, int width, Func<int, (int Source, int Destination)>? addresses)
    {
        _width = width;
        var next = new Dictionary<int, int>(); // next free SRAM byte per PE
        int Alloc(int pe, int n) { int a = next.GetValueOrDefault(pe); next[pe] = a + ((n * 4 + 15) & ~15); return a; }
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = int.MinValue, y1 = int.MinValue;
        for (int li = 0; li < route.Lanes.Count; li++)
        {
            var lane = route.Lanes[li];
            int n = counts[li];
            if (n == 0) continue;
            var path = Expand(lane.Path);
            int hops = path.Count - 1;
            if (hops < 1) throw new InvalidOperationException($"route {route.From}->{route.To}: a lane of {hops} hops");
            int Color(int hop)
            {
                int seg = 0;
                while (seg < lane.RelayAt.Count && hop >= lane.RelayAt[seg]) seg++;
                return lane.Colors[Math.Min(seg, lane.Colors.Count - 1)];
            }
            foreach (var (x, y) in path) { x0 = Math.Min(x0, x); y0 = Math.Min(y0, y); x1 = Math.Max(x1, x); y1 = Math.Max(y1, y); }
            for (int j = 0; j <= hops; j++)
            {
                int pe = path[j].Y * width + path[j].X;
                Ports toNext = j < hops ? Dir(path[j], path[j + 1]) : Ports.None;
                Ports fromPrev = j > 0 ? Dir(path[j], path[j - 1]) : Ports.None;
                if (j == 0)
                {
                    Route(pe, Color(0), Ports.Ramp, toNext);
                    int a = addresses is null ? Alloc(pe, n) : addresses(li).Source;
                    Add(pe, new Action(Kind.Send, a, n, -1, Color(0)));
                    _ends.Add((path[0].X, path[0].Y, a, path[hops].X, path[hops].Y, -1, n));
                }
                else if (j == hops)
                {
                    Route(pe, Color(j - 1), fromPrev, Ports.Ramp);
                    int a = addresses is null ? Alloc(pe, n) : addresses(li).Destination;
                    Add(pe, new Action(Kind.Receive, a, n, Color(j - 1), -1));
                    var e = _ends[^1]; e.Item6 = a; _ends[^1] = e;
                }
                else if (lane.RelayAt.Contains(j))
                {
                    Route(pe, Color(j - 1), fromPrev, Ports.Ramp);
                    Route(pe, Color(j), Ports.Ramp, toNext);
                    Add(pe, new Action(Kind.Relay, 0, n, Color(j - 1), Color(j)));
                }
                else Route(pe, Color(j), fromPrev, toNext);
            }
        }
        Box = x0 == int.MaxValue ? new Region(0, 0, 1, 1) : new Region(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
        foreach (var ((pe, color), (rx, tx)) in _routes)
        {
            if (!_routesOf.TryGetValue(pe, out var l)) _routesOf[pe] = l = new List<(int, Ports, Ports)>();
            l.Add((color, rx, tx));
        }
        BindLocalTask(0, pe =>
        {
            foreach (var a in _actions[pe.Id])
                switch (a.Kind)
                {
                    case Kind.Send: pe.Start(VecOp.Mov, Dsd.FabOut(a.ColorOut, a.Length), Dsd.Mem(a.Address, a.Length), Completion.None); break;
                    case Kind.Receive: pe.Start(VecOp.Mov, Dsd.Mem(a.Address, a.Length), Dsd.FabIn(a.ColorIn, a.Length), Completion.None); break;
                    default: pe.Start(VecOp.Mov, Dsd.FabOut(a.ColorOut, a.Length), Dsd.FabIn(a.ColorIn, a.Length), Completion.None); break;
                }
        }, "route");
    }

    private void Add(int pe, Action a)
    {
        if (!_actions.TryGetValue(pe, out var l)) _actions[pe] = l = new List<Action>();
        l.Add(a);
    }

    private void Route(int pe, int color, Ports rx, Ports tx)
    {
        if (_routes.TryGetValue((pe, color), out var r) && r != (rx, tx))
            throw new InvalidOperationException($"PE ({pe % _width}, {pe / _width}) needs two routes for color {color}");
        _routes[(pe, color)] = (rx, tx);
    }

    // the port of PE a facing its neighbour b
    private static Ports Dir((int X, int Y) a, (int X, int Y) b) =>
        b.X > a.X ? Ports.East : b.X < a.X ? Ports.West : b.Y > a.Y ? Ports.South : Ports.North;

    private static List<(int X, int Y)> Expand(List<int[]> corners)
    {
        var p = new List<(int, int)> { (corners[0][0], corners[0][1]) };
        for (int i = 1; i < corners.Count; i++)
        {
            var (x, y) = p[^1];
            int tx = corners[i][0], ty = corners[i][1];
            while (x != tx) { x += Math.Sign(tx - x); p.Add((x, y)); }
            while (y != ty) { y += Math.Sign(ty - y); p.Add((x, y)); }
        }
        return p;
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        if (_routesOf.TryGetValue(pe.Id, out var routes))
            foreach (var (color, rx, tx) in routes) pe.Fabric.SetRoute(pe.X, pe.Y, color, rx, tx);
        if (_actions.ContainsKey(pe.Id)) pe.Activate(0);
    }

    /// <summary>
    /// Streams the <paramref name="counts"/>[i] floats at byte <paramref name="addresses"/>(i).Source of lane i's source PE
    /// to .Destination of its destination PE, data already in SRAM; returns the cycles, or null when the lanes cannot be routed.
    /// </summary>
    public static long? RunInPlace(FabricSimulator sim, ProgramRoute route, int[] counts, Func<int, (int Source, int Destination)> addresses)
    {
        RouteTransferProgram prog;
        try { prog = new RouteTransferProgram(route, counts, sim.Width, addresses); }
        catch (InvalidOperationException) { return null; }
        foreach (var e in prog.Ends) sim.PeAt(e.Dx, e.Dy).F32(e.DAddr, e.Length); // grow the receivers' SRAM before the run
        long t0 = sim.Now;
        sim.Load(prog, prog.Box);
        long end = sim.Run();
        sim.Phase($"route {route.From}->{route.To}", t0, end);
        return end - t0;
    }

    /// <summary>
    /// Streams <paramref name="data"/> over <paramref name="route"/>'s lanes on <paramref name="sim"/>; returns the
    /// elements as the destination PEs received them (in order) and the cycles; null when the lanes cannot be routed
    /// (two need different routes for one color on one PE).
    /// </summary>
    public static (float[] Received, long Cycles)? Run(FabricSimulator sim, ProgramRoute route, float[] data)
    {
        int lanes = route.Lanes.Count;
        if (lanes == 0) throw new InvalidOperationException($"route {route.From}->{route.To} has no lanes");
        int per = (data.Length + lanes - 1) / lanes;
        var counts = new int[lanes];
        for (int i = 0; i < lanes; i++) counts[i] = Math.Clamp(data.Length - i * per, 0, per);
        RouteTransferProgram prog;
        try { prog = new RouteTransferProgram(route, counts, sim.Width); }
        catch (InvalidOperationException) { return null; }
        int off = 0;
        foreach (var e in prog.Ends)
        {
            data.AsSpan(off, e.Length).CopyTo(sim.PeAt(e.Sx, e.Sy).F32(e.SAddr, e.Length));
            off += e.Length;
        }
        long t0 = sim.Now;
        sim.Load(prog, prog.Box);
        long end = sim.Run();
        sim.Phase($"route {route.From}->{route.To}", t0, end);
        var got = new float[data.Length];
        off = 0;
        foreach (var e in prog.Ends)
        {
            sim.PeAt(e.Dx, e.Dy).F32(e.DAddr, e.Length).CopyTo(got.AsSpan(off));
            off += e.Length;
        }
        return (got, end - t0);
    }
}
