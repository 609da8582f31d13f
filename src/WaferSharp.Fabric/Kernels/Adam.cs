namespace WaferSharp.Fabric.Kernels;

/// <summary>Adam/AdamW hyper-parameters of one step (bias corrections precomputed on the host, as in the IR's AdamUpdate).</summary>
public readonly record struct AdamStep(float Lr, float Beta1, float Beta2, float Eps, float WeightDecay, float BiasCorrection1, float BiasCorrection2);

/// <summary>
/// The IR's AdamUpdate constants: β₁, β₂ and c₁ = 1 − β₁, c₂ = 1 − β₂ rounded from double as the IR does, ε, and the
/// step's scalar inputs (decay = 1 − lr·wd, stepSize = lr/bc₁, bc₂ = √(1 − β₂ᵗ)).
/// </summary>
public readonly record struct AdamUpdateConstants(float Beta1, float Beta2, float C1, float C2, float Eps, float Decay, float StepSize, float Bc2)
{
    /// <summary>The constants of an AdamUpdate node with attributes β₁, β₂, ε (doubles, as in the IR) and its scalar inputs.</summary>
    public static AdamUpdateConstants Of(double beta1, double beta2, float eps, float decay, float stepSize, float bc2) =>
        new((float)beta1, (float)beta2, (float)(1 - beta1), (float)(1 - beta2), eps, decay, stepSize, bc2);
}

/// <summary>
/// Adam/AdamW with the parameter, gradient and both moments resident on the same PEs (⌈E/PEs⌉ elements each), purely
/// local, in one of two instruction sequences over one memory layout. Fused (<see cref="AdamStep"/>, the calibrated
/// kernel): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p·(1 − lr·wd) − lr·(m/bc₁)/(√(v/bc₂) + ε), with FMACs. IR order
/// (<see cref="AdamUpdateConstants"/>, what a compiled program's AdamUpdate runs): m ← m·β₁ + g·c₁; v ← v·β₂ + g²·c₂;
/// p ← p·decay − stepSize·m/(√v/bc₂ + ε) in the IR's operation order and without fused multiply-adds, so the bits equal
/// the CPU executor's (the fused sequence forms 1 − β in float32 and differs in the last bits).
/// </summary>
public sealed class AdamProgram : PeProgram
{
    private readonly int _e;
    private readonly AdamStep _s;
    private readonly AdamUpdateConstants? _ir;
    private readonly int[] _valid;

    /// <summary>A fused update of <paramref name="e"/> elements per PE.</summary>
    public AdamProgram(int e, AdamStep step, int[] valid)
    {
        _e = e; _s = step; _valid = valid;
        BindLocalTask(0, Body, "adam");
    }

    /// <summary>An update of <paramref name="e"/> elements per PE in the IR's operation order.</summary>
    public AdamProgram(int e, AdamUpdateConstants ir, int[] valid)
    {
        _e = e; _ir = ir; _valid = valid;
        BindLocalTask(0, Body, "adam");
    }

    /// <summary>Address of p (0), g (1), m (2), v (3).</summary>
    public int Address(int i) => i * _e * 4;

    private void Body(Pe pe)
    {
        int n = _valid[pe.Ly * Region.Width + pe.Lx];
        if (n == 0) return;
        Dsd p = Dsd.Mem(Address(0), n), g = Dsd.Mem(Address(1), n), m = Dsd.Mem(Address(2), n), v = Dsd.Mem(Address(3), n);
        Dsd t = Dsd.Mem(Address(4), n), t2 = Dsd.Mem(Address(5), n);
        if (_ir is { } c)
        {
            pe.Exec(VecOp.Mul, m, m, Dsd.Scalar(c.Beta1));
            pe.Exec(VecOp.Mul, t, g, Dsd.Scalar(c.C1));
            pe.Exec(VecOp.Add, m, m, t);
            pe.Exec(VecOp.Mul, v, v, Dsd.Scalar(c.Beta2));
            pe.Exec(VecOp.Mul, t, g, g);
            pe.Exec(VecOp.Mul, t, t, Dsd.Scalar(c.C2));
            pe.Exec(VecOp.Add, v, v, t);
            pe.Exec(VecOp.Sqrt, t2, v);
            pe.Exec(VecOp.Div, t2, t2, Dsd.Scalar(c.Bc2));
            pe.Exec(VecOp.Add, t2, t2, Dsd.Scalar(c.Eps));
            pe.Exec(VecOp.Div, t, m, t2);
            pe.Exec(VecOp.Mul, t, t, Dsd.Scalar(c.StepSize));
            pe.Exec(VecOp.Mul, p, p, Dsd.Scalar(c.Decay));
            pe.Exec(VecOp.Sub, p, p, t);
            return;
        }
        pe.Exec(VecOp.Mul, m, m, Dsd.Scalar(_s.Beta1));
        pe.Exec(VecOp.Fma, m, g, Dsd.Scalar(1 - _s.Beta1));
        pe.Exec(VecOp.Mul, t, g, g);
        pe.Exec(VecOp.Mul, v, v, Dsd.Scalar(_s.Beta2));
        pe.Exec(VecOp.Fma, v, t, Dsd.Scalar(1 - _s.Beta2));
        pe.Exec(VecOp.Mul, t, m, Dsd.Scalar(1 / _s.BiasCorrection1));
        pe.Exec(VecOp.Mul, t2, v, Dsd.Scalar(1 / _s.BiasCorrection2));
        pe.Exec(VecOp.Sqrt, t2, t2);
        pe.Exec(VecOp.Add, t2, t2, Dsd.Scalar(_s.Eps));
        pe.Exec(VecOp.Div, t, t, t2);
        if (_s.WeightDecay != 0) pe.Exec(VecOp.Mul, p, p, Dsd.Scalar(1 - _s.Lr * _s.WeightDecay));
        pe.Exec(VecOp.Fma, p, t, Dsd.Scalar(-_s.Lr));
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe) => pe.Activate(0);

    /// <summary>Runs one fused update in place on copies of p, g, m, v; Output is the new p followed by new m and new v.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] p, float[] g, float[] m, float[] v, AdamStep step)
        => Run(sim, region, p, g, m, v, (e, valid) => new AdamProgram(e, step, valid));

    /// <summary>Runs one update in the IR's operation order (bit-equal to the CPU executor's AdamUpdate); Output as <see cref="Run(FabricSimulator, Region, float[], float[], float[], float[], AdamStep)"/>.</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[] p, float[] g, float[] m, float[] v, AdamUpdateConstants ir)
        => Run(sim, region, p, g, m, v, (e, valid) => new AdamProgram(e, ir, valid));

    private static KernelRun Run(FabricSimulator sim, Region region, float[] p, float[] g, float[] m, float[] v, Func<int, int[], AdamProgram> make)
    {
        Trees.RequireLive(sim, region, "adam");
        int total = p.Length, pes = (int)region.PeCount;
        int e = Layout.Div(total, pes);
        if (6 * e * 4 > sim.Spec.PeSramBytes) throw new ArgumentException($"adam: {e} elements per PE do not fit SRAM; use a larger region");
        var valid = new int[pes];
        for (int i = 0; i < pes; i++) valid[i] = Math.Clamp(total - i * e, 0, e);
        var prog = make(e, valid);
        var src = new[] { p, g, m, v };
        for (int i = 0; i < pes; i++)
        {
            var pe = sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width);
            for (int t = 0; t < 4; t++) src[t].AsSpan(Math.Min(total, i * e), valid[i]).CopyTo(pe.F32(prog.Address(t), e));
        }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase("adam-update", t0, end);
        var outv = new float[3 * total];
        for (int i = 0; i < pes; i++)
        {
            if (valid[i] == 0) continue;
            var pe = sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width);
            pe.F32(prog.Address(0), valid[i]).CopyTo(outv.AsSpan(i * e));
            pe.F32(prog.Address(2), valid[i]).CopyTo(outv.AsSpan(total + i * e));
            pe.F32(prog.Address(3), valid[i]).CopyTo(outv.AsSpan(2 * total + i * e));
        }
        return new KernelRun(end - t0, outv, sim.Stats(region));
    }
}
