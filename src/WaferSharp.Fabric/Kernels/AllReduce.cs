namespace WaferSharp.Fabric.Kernels;

/// <summary>
/// Center-rooted all-reduce (sum) of an n-element float32 vector held by every PE of a region: rows reduce to the
/// center column, the center column to the center PE, and a router multicast tree brings the result back
/// (see <see cref="CenterAllReduce"/>). Afterwards every PE holds the sum.
/// </summary>
public sealed class AllReduceProgram : PeProgram
{
    private readonly CenterAllReduce _ar;
    private readonly int _n;

    /// <summary>All-reduce of <paramref name="n"/> floats at SRAM address 0.</summary>
    public AllReduceProgram(int n)
    {
        _n = n;
        _ar = new CenterAllReduce(this, 0, 1, rowsOnly: false);
        BindLocalTask(0, pe => _ar.Start(pe, 0, _n, VecOp.Add, Completion.None), "start");
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        _ar.Setup(pe);
        pe.Activate(0);
    }

    /// <summary>
    /// Runs the all-reduce on
    /// <paramref name="region"/> where region PE i (row-major) starts with value(i, k) at element k; returns the vector the
    /// center PE ends with and checks every PE holds the same bits.
    /// </summary>
    public static KernelRun Run(FabricSimulator sim, Region region, int n, Func<int, int, float> value)
    {
        Trees.RequireLive(sim, region, "allreduce");
        var prog = new AllReduceProgram(n);
        long t0 = sim.Now;
        for (int y = 0; y < region.Height; y++)
            for (int x = 0; x < region.Width; x++)
            {
                var m = sim.PeAt(region.X + x, region.Y + y).F32(0, n);
                int i = y * region.Width + x;
                for (int k = 0; k < n; k++) m[k] = value(i, k);
            }
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase($"allreduce n={n}", t0, end);
        var outv = sim.PeAt(region.X + region.Width / 2, region.Y + region.Height / 2).F32(0, n).ToArray();
        for (int y = 0; y < region.Height; y++)
            for (int x = 0; x < region.Width; x++)
                if (!sim.PeAt(region.X + x, region.Y + y).F32(0, n).SequenceEqual(outv))
                    throw new InvalidOperationException($"allreduce: PE ({x}, {y}) ended with a different vector than the root");
        return new KernelRun(end - t0, outv, sim.Stats(region));
    }
}

/// <summary>
/// Broadcast (multicast) of n float32 values from a root PE to every live PE of a region through one router
/// multicast tree that goes around dead PEs; receivers stream the values into SRAM address 0.
/// </summary>
public sealed class BroadcastProgram : PeProgram
{
    private readonly int _n, _rootX, _rootY;

    /// <summary>Broadcast of <paramref name="n"/> floats from fabric PE (rootX, rootY).</summary>
    public BroadcastProgram(int n, int rootX, int rootY)
    {
        _n = n; _rootX = rootX; _rootY = rootY;
        BindLocalTask(0, pe =>
        {
            if (pe.X == _rootX && pe.Y == _rootY) pe.Start(VecOp.Mov, Dsd.FabOut(0, _n), Dsd.Mem(0, _n), Completion.None);
            else pe.Start(VecOp.Mov, Dsd.Mem(0, _n), Dsd.FabIn(0, _n), Completion.None);
        }, "start");
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe)
    {
        if (pe.X == _rootX && pe.Y == _rootY) Depth = Trees.MulticastTree(pe.Fabric, Region, 0, _rootX, _rootY);
        pe.Activate(0);
    }

    /// <summary>Hops from the root to the farthest live PE.</summary>
    public int Depth { get; private set; }

    /// <summary>Runs the broadcast of <paramref name="data"/> from (rootX, rootY) over <paramref name="region"/>; Output is the data as received by the last PE in row-major order.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, int rootX, int rootY, float[] data)
    {
        var prog = new BroadcastProgram(data.Length, rootX, rootY);
        long t0 = sim.Now;
        data.CopyTo(sim.PeAt(rootX, rootY).F32(0, data.Length));
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase($"broadcast n={data.Length}", t0, end);
        float[] last = data;
        for (int y = region.Y; y < region.Y + region.Height; y++)
            for (int x = region.X; x < region.X + region.Width; x++)
            {
                if (sim.IsDead(x, y)) continue;
                var got = sim.PeAt(x, y).F32(0, data.Length);
                if (!got.SequenceEqual(data)) throw new InvalidOperationException($"broadcast: PE ({x}, {y}) did not receive the data");
                last = got.ToArray();
            }
        return new KernelRun(end - t0, last, sim.Stats(region));
    }
}
