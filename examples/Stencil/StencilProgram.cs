using WaferSharp.Fabric;

namespace WaferSharp.Examples.Stencil;

/// <summary>
/// A user kernel written with the public per-PE program API: a 2-D five-point stencil iterated on the mesh,
/// u' = c0·u + c1·(u_west + u_east + u_north + u_south) with zero values outside the region, where every PE holds one
/// grid point's column of <c>nz</c> values (the PE grid is the x–y plane, the vector is z, as in wafer stencil codes).
/// <para>
/// Each iteration, a PE streams its column to its (up to) four neighbours and accumulates the four incoming streams
/// into a second buffer with fused multiply-adds; eight colors (two per direction, alternating with x or y parity) keep
/// any PE from sending and receiving on one color. Every instruction is asynchronous; one local task per outstanding
/// instruction counts completions, and when all eight are done the PE swaps buffers and starts the next iteration.
/// </para>
/// </summary>
public sealed class StencilProgram : PeProgram
{
    private const int TaskIterate = 8;
    private readonly int _nz, _iterations;
    private readonly float _c0, _c1;
    private int[] _pending = [], _iter = [];

    /// <summary>A stencil over columns of <paramref name="nz"/> floats, run for <paramref name="iterations"/> steps.</summary>
    public StencilProgram(int nz, int iterations, float c0, float c1)
    {
        _nz = nz; _iterations = iterations; _c0 = c0; _c1 = c1;
        for (int t = 0; t < 8; t++) BindLocalTask(t, OnInstructionDone, $"done{t}");
        BindLocalTask(TaskIterate, Iterate, "iterate");
    }

    /// <summary>Byte address of the current column u.</summary>
    public int UAddress => 0;
    private int Acc => ((_nz * 4) + 15) & ~15;

    // color of the stream that PE (px, py) sends in direction d (0 east, 1 west, 2 south, 3 north)
    private static int SendColor(int d, int px, int py) => 2 * d + ((d < 2 ? px : py) & 1);

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        int w = Region.Width, h = Region.Height;
        if (_pending.Length != w * h) { _pending = new int[w * h]; _iter = new int[w * h]; }
        int x = pe.Lx, y = pe.Ly;
        var f = pe.Fabric;
        // east-bound streams: PE x sends on E[x%2], PE x+1 receives it from the west
        if (x < w - 1) f.SetRoute(pe.X, pe.Y, SendColor(0, x, y), Ports.Ramp, Ports.East);
        if (x > 0) f.SetRoute(pe.X, pe.Y, SendColor(0, x - 1, y), Ports.West, Ports.Ramp);
        if (x > 0) f.SetRoute(pe.X, pe.Y, SendColor(1, x, y), Ports.Ramp, Ports.West);
        if (x < w - 1) f.SetRoute(pe.X, pe.Y, SendColor(1, x + 1, y), Ports.East, Ports.Ramp);
        if (y < h - 1) f.SetRoute(pe.X, pe.Y, SendColor(2, x, y), Ports.Ramp, Ports.South);
        if (y > 0) f.SetRoute(pe.X, pe.Y, SendColor(2, x, y - 1), Ports.North, Ports.Ramp);
        if (y > 0) f.SetRoute(pe.X, pe.Y, SendColor(3, x, y), Ports.Ramp, Ports.North);
        if (y < h - 1) f.SetRoute(pe.X, pe.Y, SendColor(3, x, y + 1), Ports.South, Ports.Ramp);
        _iter[y * w + x] = 0;
        if (_iterations > 0) pe.Activate(TaskIterate);
    }

    private void Iterate(Pe pe)
    {
        int w = Region.Width, h = Region.Height, x = pe.Lx, y = pe.Ly, i = y * w + x;
        var u = Dsd.Mem(UAddress, _nz);
        var acc = Dsd.Mem(Acc, _nz);
        pe.Exec(VecOp.Mul, acc, u, Dsd.Scalar(_c0));
        int slot = 0;
        void Send(int d) => pe.Start(VecOp.Mov, Dsd.FabOut(SendColor(d, x, y), _nz), u, Completion.Activate(slot++));
        void Receive(int color) => pe.Start(VecOp.Fma, acc, Dsd.FabIn(color, _nz), Dsd.Scalar(_c1), Completion.Activate(slot++));
        if (x < w - 1) { Send(0); Receive(SendColor(1, x + 1, y)); }
        if (x > 0) { Send(1); Receive(SendColor(0, x - 1, y)); }
        if (y < h - 1) { Send(2); Receive(SendColor(3, x, y + 1)); }
        if (y > 0) { Send(3); Receive(SendColor(2, x, y - 1)); }
        _pending[i] = slot;
        if (slot == 0) OnInstructionDone(pe, force: true);
    }

    private void OnInstructionDone(Pe pe) => OnInstructionDone(pe, force: false);

    private void OnInstructionDone(Pe pe, bool force)
    {
        int i = pe.Ly * Region.Width + pe.Lx;
        if (!force && --_pending[i] > 0) return;
        pe.Exec(VecOp.Mov, Dsd.Mem(UAddress, _nz), Dsd.Mem(Acc, _nz));
        if (++_iter[i] < _iterations) pe.Activate(TaskIterate);
    }

    /// <summary>
    /// Runs <paramref name="iterations"/> steps on a w × h region at the fabric origin from the initial field
    /// <paramref name="u0"/> (layout [y, x, z]); returns the final field and the cycles taken.
    /// </summary>
    public static (float[] Field, long Cycles) Run(FabricSimulator sim, int w, int h, int nz, float[] u0, int iterations, float c0, float c1)
    {
        var prog = new StencilProgram(nz, iterations, c0, c1);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                u0.AsSpan((y * w + x) * nz, nz).CopyTo(sim.PeAt(x, y).F32(prog.UAddress, nz));
        long t0 = sim.Now;
        sim.Load(prog, new Region(0, 0, w, h));
        long end = sim.Run();
        var u = new float[w * h * nz];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                sim.PeAt(x, y).F32(prog.UAddress, nz).CopyTo(u.AsSpan((y * w + x) * nz, nz));
        return (u, end - t0);
    }

    /// <summary>The CPU reference: the same iteration as plain loops.</summary>
    public static float[] Reference(int w, int h, int nz, float[] u0, int iterations, float c0, float c1)
    {
        var u = (float[])u0.Clone();
        var v = new float[u.Length];
        for (int t = 0; t < iterations; t++)
        {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int z = 0; z < nz; z++)
                    {
                        float s = 0;
                        if (x > 0) s += u[(y * w + x - 1) * nz + z];
                        if (x < w - 1) s += u[(y * w + x + 1) * nz + z];
                        if (y > 0) s += u[((y - 1) * w + x) * nz + z];
                        if (y < h - 1) s += u[((y + 1) * w + x) * nz + z];
                        v[(y * w + x) * nz + z] = c0 * u[(y * w + x) * nz + z] + c1 * s;
                    }
            (u, v) = (v, u);
        }
        return u;
    }
}
