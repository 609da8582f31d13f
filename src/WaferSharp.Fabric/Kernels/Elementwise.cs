namespace WaferSharp.Fabric.Kernels;

/// <summary>One step of an elementwise chain: acc = op(acc, operand), the operand an input tensor or a scalar.</summary>
/// <param name="Op">The vector instruction.</param>
/// <param name="Input">Index of the input tensor used as the second operand, or −1 for <paramref name="Scalar"/>.</param>
/// <param name="Scalar">Scalar operand when <paramref name="Input"/> is −1.</param>
public readonly record struct ChainStep(VecOp Op, int Input = -1, float Scalar = 0);

/// <summary>
/// A fused elementwise chain out = stepₙ(…step₁(in₀)) over E elements spread evenly over a region (⌈E/PEs⌉ per PE),
/// each step one vector instruction over the PE's slice; no fabric traffic.
/// </summary>
public sealed class ElementwiseChainProgram : PeProgram
{
    private readonly int _e, _inputs;
    private readonly ChainStep[] _steps;
    private readonly int[] _valid;

    /// <summary>A chain over <paramref name="inputs"/> tensors with <paramref name="e"/> elements per PE.</summary>
    public ElementwiseChainProgram(int e, int inputs, ChainStep[] steps, int[] validPerPe)
    {
        _e = e; _inputs = inputs; _steps = steps; _valid = validPerPe;
        BindLocalTask(0, Body, "chain");
    }

    /// <summary>Byte address of input <paramref name="i"/>.</summary>
    public int InputAddress(int i) => i * _e * 4;
    /// <summary>Byte address of the output.</summary>
    public int OutputAddress => _inputs * _e * 4;

    private void Body(Pe pe)
    {
        int v = _valid[pe.Ly * Region.Width + pe.Lx];
        if (v == 0) return;
        var acc = Dsd.Mem(OutputAddress, v);
        if (_steps.Length == 0) { pe.Exec(VecOp.Mov, acc, Dsd.Mem(InputAddress(0), v)); return; }
        // the first step reads input 0 directly; later steps update the output in place
        for (int i = 0; i < _steps.Length; i++)
        {
            var s = _steps[i];
            if (s.Op == VecOp.Fma) throw new ArgumentException("elementwise chain: use Mul then Add (Fma accumulates into the destination)");
            pe.Exec(s.Op, acc, i == 0 ? Dsd.Mem(InputAddress(0), v) : acc, s.Input >= 0 ? Dsd.Mem(InputAddress(s.Input), v) : Dsd.Scalar(s.Scalar));
        }
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe) => pe.Activate(0);

    /// <summary>Runs the chain on <paramref name="region"/>; Output is the result (same length as the inputs).</summary>
    public static KernelRun Run(FabricSimulator sim, Region region, float[][] inputs, ChainStep[] steps)
    {
        Trees.RequireLive(sim, region, "elementwise");
        int total = inputs[0].Length, pes = (int)region.PeCount;
        int e = Layout.Div(total, pes);
        var valid = new int[pes];
        for (int i = 0; i < pes; i++) valid[i] = Math.Clamp(total - i * e, 0, e);
        var prog = new ElementwiseChainProgram(e, inputs.Length, steps, valid);
        if ((inputs.Length + 1) * e * 4 > sim.Spec.PeSramBytes) throw new ArgumentException($"elementwise: {e} elements per PE do not fit SRAM; use a larger region");
        for (int i = 0; i < pes; i++)
        {
            var pe = sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width);
            for (int t = 0; t < inputs.Length; t++)
                inputs[t].AsSpan(Math.Min(total, i * e), valid[i]).CopyTo(pe.F32(prog.InputAddress(t), e));
        }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase("elementwise-chain", t0, end);
        var outv = new float[total];
        for (int i = 0; i < pes; i++)
            if (valid[i] > 0) sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width).F32(prog.OutputAddress, valid[i]).CopyTo(outv.AsSpan(i * e));
        return new KernelRun(end - t0, outv, sim.Stats(region));
    }
}
