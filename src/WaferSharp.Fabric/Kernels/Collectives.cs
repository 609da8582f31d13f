namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Route builders shared by collective kernels: a shortest-path multicast tree over the live PEs of a region (routes
/// go around dead PEs), and chains toward a root along one axis.
/// </summary>
public static class Trees
{
    /// <summary>
    /// Sets <paramref name="color"/> on every live PE of <paramref name="region"/> (or of its row <paramref name="onlyRow"/>)
    /// to a multicast tree rooted at (<paramref name="rootX"/>, <paramref name="rootY"/>): breadth-first over live PEs,
    /// vertical moves first, so every PE is reached on a shortest live path. The root sends (rx = ramp); every other PE
    /// receives (tx ∋ ramp) and forwards to its children. Returns the tree depth in hops.
    /// </summary>
    public static int MulticastTree(FabricSimulator sim, Region region, int color, int rootX, int rootY, int onlyRow = -1)
    {
        int w = region.Width, h = region.Height;
        var parent = new sbyte[w * h]; // port index toward the parent, -1 unvisited, 4 root
        Array.Fill(parent, (sbyte)-1);
        var dist = new int[w * h];
        var q = new Queue<int>();
        int r = (rootY - region.Y) * w + (rootX - region.X);
        parent[r] = 4; q.Enqueue(r);
        int depth = 0;
        Span<int> dx = [0, 0, 1, -1], dy = [-1, 1, 0, 0];
        while (q.Count > 0)
        {
            int c = q.Dequeue();
            int cx = c % w, cy = c / w;
            for (int p = 0; p < 4; p++)
            {
                int nx = cx + dx[p], ny = cy + dy[p];
                if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                if (onlyRow >= 0 && ny + region.Y != onlyRow) continue;
                int ni = ny * w + nx;
                if (parent[ni] != -1 || sim.IsDead(region.X + nx, region.Y + ny)) continue;
                parent[ni] = (sbyte)PortIndex.Opposite(p);
                dist[ni] = dist[c] + 1;
                depth = Math.Max(depth, dist[ni]);
                q.Enqueue(ni);
            }
        }
        var tx = new Ports[w * h];
        for (int i = 0; i < w * h; i++)
        {
            if (parent[i] < 0 || parent[i] == 4) continue;
            int p = parent[i];
            int px = i % w + (p == PortIndex.East ? 1 : p == PortIndex.West ? -1 : 0);
            int py = i / w + (p == PortIndex.South ? 1 : p == PortIndex.North ? -1 : 0);
            tx[py * w + px] |= PortIndex.Mask(PortIndex.Opposite(p));
        }
        for (int i = 0; i < w * h; i++)
        {
            if (parent[i] < 0) continue;
            bool root = parent[i] == 4;
            sim.SetRoute(region.X + i % w, region.Y + i / w, color, root ? Ports.Ramp : PortIndex.Mask(parent[i]), root ? tx[i] : tx[i] | Ports.Ramp);
        }
        return depth;
    }

    /// <summary>Throws when a region holds a dead PE (kernels with chains and tiles need a whole rectangle).</summary>
    public static void RequireLive(FabricSimulator sim, Region region, string kernel)
    {
        for (int y = region.Y; y < region.Y + region.Height; y++)
            for (int x = region.X; x < region.X + region.Width; x++)
                if (sim.IsDead(x, y)) throw new ArgumentException($"{kernel}: region {region} contains dead PE ({x}, {y}); place the kernel on a defect-free region");
    }
}

/// <summary>
/// A reusable center-rooted all-reduce (or reduce) component that programs embed: each row reduces toward its center
/// column as a pipelined chain (every PE adds its vector to the stream passing through, one element per cycle, two
/// alternating colors per side so no PE sends and receives on one color), then the center column reduces toward the
/// center PE the same way, then the center multicasts the result back through a router tree (no software relays).
/// With <c>rowsOnly</c> every row reduces to its own center and broadcasts along the row.
/// Uses 9 colors from <c>colorBase</c> and three local task ids from <c>task</c>.
/// </summary>
public sealed class CenterAllReduce
{
    private readonly PeProgram _host;
    private readonly int _c0, _task;
    private readonly bool _rowsOnly, _broadcast;
    private int[] _addr = [], _n = [], _count = [], _expect = [], _stage = [];
    private VecOp[] _op = [];
    private Completion[] _done = [];

    /// <summary>A component bound to <paramref name="host"/>, colors colorBase…colorBase+8 and local task <paramref name="task"/>.</summary>
    public CenterAllReduce(PeProgram host, int colorBase, int task, bool rowsOnly, bool broadcast = true)
    {
        _host = host; _c0 = colorBase; _task = task; _rowsOnly = rowsOnly; _broadcast = broadcast;
        // one task per concurrently outstanding instruction: activations are flags, two completions on one task would merge
        host.BindLocalTask(task, Advance, "allreduce");
        host.BindLocalTask(task + 1, Advance, "allreduce");
        host.BindLocalTask(task + 2, Advance, "allreduce");
    }

    private int W => _host.Region.Width;
    private int H => _host.Region.Height;
    private int Cx => W / 2;
    private int Cy(int ly) => _rowsOnly ? ly : H / 2;
    private int L(Pe pe) => pe.Ly * W + pe.Lx;

    /// <summary>Sets this component's routes on one PE (call from <see cref="PeProgram.Setup"/>).</summary>
    public void Setup(Pe pe)
    {
        if (_addr.Length != W * H)
        {
            int n = W * H;
            _addr = new int[n]; _n = new int[n]; _count = new int[n]; _expect = new int[n]; _stage = new int[n];
            _op = new VecOp[n]; _done = new Completion[n];
        }
        int lx = pe.Lx, ly = pe.Ly, cx = Cx, cy = Cy(ly);
        var sim = pe.Fabric;
        int x = pe.X, y = pe.Y;
        // row chains: west side colors c0, c0+1; east side c0+2, c0+3
        if (lx < cx)
        {
            sim.SetRoute(x, y, _c0 + lx % 2, Ports.Ramp, Ports.East);
            if (lx > 0) sim.SetRoute(x, y, _c0 + (lx - 1) % 2, Ports.West, Ports.Ramp);
        }
        else if (lx > cx)
        {
            int d = W - 1 - lx;
            sim.SetRoute(x, y, _c0 + 2 + d % 2, Ports.Ramp, Ports.West);
            if (d > 0) sim.SetRoute(x, y, _c0 + 2 + (d - 1) % 2, Ports.East, Ports.Ramp);
        }
        else
        {
            if (cx > 0) sim.SetRoute(x, y, _c0 + (cx - 1) % 2, Ports.West, Ports.Ramp);
            if (cx < W - 1) sim.SetRoute(x, y, _c0 + 2 + (W - 2 - cx) % 2, Ports.East, Ports.Ramp);
            if (!_rowsOnly)
            {
                // column chains: north c0+4, c0+5; south c0+6, c0+7
                if (ly < cy)
                {
                    sim.SetRoute(x, y, _c0 + 4 + ly % 2, Ports.Ramp, Ports.South);
                    if (ly > 0) sim.SetRoute(x, y, _c0 + 4 + (ly - 1) % 2, Ports.North, Ports.Ramp);
                }
                else if (ly > cy)
                {
                    int d = H - 1 - ly;
                    sim.SetRoute(x, y, _c0 + 6 + d % 2, Ports.Ramp, Ports.North);
                    if (d > 0) sim.SetRoute(x, y, _c0 + 6 + (d - 1) % 2, Ports.South, Ports.Ramp);
                }
                else
                {
                    if (cy > 0) sim.SetRoute(x, y, _c0 + 4 + (cy - 1) % 2, Ports.North, Ports.Ramp);
                    if (cy < H - 1) sim.SetRoute(x, y, _c0 + 6 + (H - 2 - cy) % 2, Ports.South, Ports.Ramp);
                }
            }
        }
        // broadcast tree (set once per region by the root PE's setup)
        if (_broadcast && lx == cx && ly == cy)
            Trees.MulticastTree(sim, _host.Region, _c0 + 8, x, y, _rowsOnly ? y : -1);
    }

    /// <summary>
    /// Starts the all-reduce of the <paramref name="n"/> float32 values at <paramref name="address"/> on this PE with
    /// <paramref name="op"/> (<see cref="VecOp.Add"/> or <see cref="VecOp.Max"/>); the result replaces them (on every PE,
    /// or only on the root when the component does not broadcast) and <paramref name="done"/> fires on this PE.
    /// </summary>
    public void Start(Pe pe, int address, int n, VecOp op, Completion done)
    {
        int i = L(pe);
        _addr[i] = address; _n[i] = n; _op[i] = op; _done[i] = done; _count[i] = 0; _expect[i] = 0; _stage[i] = 0;
        int lx = pe.Lx, ly = pe.Ly, cx = Cx, cy = Cy(ly);
        bool root = lx == cx && ly == cy;
        _expect[i] += StartLine(pe, lx, cx, W, _c0, address, n, op); // row phase
        if (_broadcast && !root) { pe.Start(VecOp.Mov, Dsd.Mem(address, n), Dsd.FabIn(_c0 + 8, n), Completion.Activate(_task + 2)); _expect[i]++; }
        Step(pe, i);
    }

    // One chain reduce along a line of len PEs toward the center c, on colors c0 … c0 + 3 (two alternating per side so a
    // PE's input and output differ): PE p adds its vector to the stream from its far neighbour and passes it on; the
    // center adds both streams into its own vector. Returns the instructions started.
    private int StartLine(Pe pe, int p, int c, int len, int c0, int a, int n, VecOp op)
    {
        if (p != c)
        {
            int d = p < c ? p : len - 1 - p, side = p < c ? c0 : c0 + 2;
            var outD = Dsd.FabOut(side + d % 2, n);
            if (d == 0) pe.Start(VecOp.Mov, outD, Dsd.Mem(a, n), Completion.Activate(_task));
            else pe.Start(op, outD, Dsd.FabIn(side + (d - 1) % 2, n), Dsd.Mem(a, n), Completion.Activate(_task));
            return 1;
        }
        int k = 0;
        if (c > 0) { pe.Start(op, Dsd.Mem(a, n), Dsd.Mem(a, n), Dsd.FabIn(c0 + (c - 1) % 2, n), Completion.Activate(_task)); k++; }
        if (c < len - 1) { pe.Start(op, Dsd.Mem(a, n), Dsd.Mem(a, n), Dsd.FabIn(c0 + 2 + (len - 2 - c) % 2, n), Completion.Activate(_task + 1)); k++; }
        return k;
    }

    private void Advance(Pe pe)
    {
        int i = L(pe);
        _count[i]++;
        Step(pe, i);
    }

    // stages: 0 row phase running; 1 column phase running; 2 broadcast sent; 3 finished
    private void Step(Pe pe, int i)
    {
        int lx = pe.Lx, ly = pe.Ly, cx = Cx, cy = Cy(ly);
        int n = _n[i], a = _addr[i];
        var op = _op[i];
        bool root = lx == cx && ly == cy;
        int rowOps = lx == cx ? (cx > 0 ? 1 : 0) + (cx < W - 1 ? 1 : 0) : 1;
        if (_stage[i] == 0 && lx == cx && _count[i] >= rowOps)
        {
            _stage[i] = 1;
            if (!_rowsOnly) _expect[i] += StartLine(pe, ly, cy, H, _c0 + 4, a, n, op); // column phase
        }
        if (root && _stage[i] == 1 && _count[i] >= _expect[i])
        {
            _stage[i] = 2;
            bool any = _rowsOnly ? W > 1 : W * H > 1;
            if (_broadcast && any) { pe.Start(VecOp.Mov, Dsd.FabOut(_c0 + 8, n), Dsd.Mem(a, n), Completion.Activate(_task + 2)); _expect[i]++; return; }
        }
        if (_stage[i] != 3 && _count[i] >= _expect[i] && (!root || _stage[i] == 2) && (lx != cx || _stage[i] >= 1))
        {
            _stage[i] = 3;
            var d = _done[i];
            if (d.Kind == 1) pe.Activate(d.Task); else if (d.Kind == 2) pe.Unblock(d.Task);
        }
    }
}
