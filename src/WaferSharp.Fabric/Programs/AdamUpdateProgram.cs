using WaferSharp.Fabric.Kernels;

namespace WaferSharp.Fabric.Programs;

/// <summary>
/// The IR's AdamUpdate as vector instructions on the PEs that hold p, g, m and v (⌈E/PEs⌉ elements each, no fabric
/// traffic): m ← m·β₁ + g·c₁; v ← v·β₂ + g²·c₂; p ← p·decay − stepSize·m/(√v/bc₂ + ε), with c₁ = 1 − β₁ and c₂ = 1 − β₂
/// rounded from double as the IR does and no fused multiply-adds, so the bits equal the CPU executor's. (The fused
/// <see cref="AdamProgram"/> takes bias corrections instead and forms 1 − β in float32, which differs in the last bits.)
/// </summary>
public sealed class AdamUpdateProgram : PeProgram
{
    private readonly int _e;
    private readonly int[] _valid;
    private readonly float _b1, _b2, _c1, _c2, _eps, _decay, _step, _bc2;

    /// <summary>An update of <paramref name="e"/> elements per PE with the IR's attributes and scalar inputs.</summary>
    public AdamUpdateProgram(int e, int[] valid, double beta1, double beta2, float eps, float decay, float stepSize, float bc2)
    {
        _e = e; _valid = valid;
        _b1 = (float)beta1; _b2 = (float)beta2; _c1 = (float)(1 - beta1); _c2 = (float)(1 - beta2);
        _eps = eps; _decay = decay; _step = stepSize; _bc2 = bc2;
        BindLocalTask(0, Body, "adam");
    }

    /// <summary>Address of p (0), g (1), m (2), v (3) and two scratch vectors (4, 5).</summary>
    public int Address(int i) => i * _e * 4;

    private void Body(Pe pe)
    {
        int n = _valid[pe.Ly * Region.Width + pe.Lx];
        if (n == 0) return;
        Dsd p = Dsd.Mem(Address(0), n), g = Dsd.Mem(Address(1), n), m = Dsd.Mem(Address(2), n), v = Dsd.Mem(Address(3), n);
        Dsd t = Dsd.Mem(Address(4), n), u = Dsd.Mem(Address(5), n);
        pe.Exec(VecOp.Mul, m, m, Dsd.Scalar(_b1));
        pe.Exec(VecOp.Mul, t, g, Dsd.Scalar(_c1));
        pe.Exec(VecOp.Add, m, m, t);
        pe.Exec(VecOp.Mul, v, v, Dsd.Scalar(_b2));
        pe.Exec(VecOp.Mul, t, g, g);
        pe.Exec(VecOp.Mul, t, t, Dsd.Scalar(_c2));
        pe.Exec(VecOp.Add, v, v, t);
        pe.Exec(VecOp.Sqrt, u, v);
        pe.Exec(VecOp.Div, u, u, Dsd.Scalar(_bc2));
        pe.Exec(VecOp.Add, u, u, Dsd.Scalar(_eps));
        pe.Exec(VecOp.Div, t, m, u);
        pe.Exec(VecOp.Mul, t, t, Dsd.Scalar(_step));
        pe.Exec(VecOp.Mul, p, p, Dsd.Scalar(_decay));
        pe.Exec(VecOp.Sub, p, p, t);
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe) => pe.Activate(0);

    /// <summary>Runs one update on copies of p, g, m, v placed on <paramref name="region"/>; returns new p, m, v and the cycles.</summary>
    public static (float[] P, float[] M, float[] V, long Cycles) Run(FabricSimulator sim, Region region, float[] p, float[] g, float[] m, float[] v,
        double beta1, double beta2, float eps, float decay, float stepSize, float bc2)
    {
        int total = p.Length, pes = (int)region.PeCount;
        int e = Math.Max(1, (total + pes - 1) / pes);
        if (6 * e * 4 > sim.Spec.PeSramBytes) throw new ArgumentException($"adam: {e} elements per PE do not fit SRAM; use a larger region");
        var valid = new int[pes];
        for (int i = 0; i < pes; i++) valid[i] = Math.Clamp(total - i * e, 0, e);
        var prog = new AdamUpdateProgram(e, valid, beta1, beta2, eps, decay, stepSize, bc2);
        var src = new[] { p, g, m, v };
        for (int i = 0; i < pes; i++)
        {
            if (valid[i] == 0) continue;
            var pe = sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width);
            for (int t = 0; t < 4; t++) src[t].AsSpan(i * e, valid[i]).CopyTo(pe.F32(prog.Address(t), e));
        }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase("adam-update", t0, end);
        var np = new float[total]; var nm = new float[total]; var nv = new float[total];
        for (int i = 0; i < pes; i++)
        {
            if (valid[i] == 0) continue;
            var pe = sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width);
            pe.F32(prog.Address(0), valid[i]).CopyTo(np.AsSpan(i * e));
            pe.F32(prog.Address(2), valid[i]).CopyTo(nm.AsSpan(i * e));
            pe.F32(prog.Address(3), valid[i]).CopyTo(nv.AsSpan(i * e));
        }
        return (np, nm, nv, end - t0);
    }
}
