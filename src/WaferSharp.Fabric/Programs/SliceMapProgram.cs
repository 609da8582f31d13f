using WaferSharp.Tensors;

namespace WaferSharp.Fabric.Programs;

/// <summary>
/// A PE-local map over E elements spread evenly over a region (⌈E/PEs⌉ per PE, in row-major element order): every PE
/// holds its slice of each input in SRAM (as float32 words), runs <see cref="SliceFunction"/> on it and writes its
/// slice of each output back to SRAM. Used for elementwise ops that have no fused vector-instruction chain (GELU,
/// comparisons, casts, gradient rules): the function is the op's own pointwise rule, so the bits equal the CPU
/// executor's, and the PE is charged the cycles of a software sequence of <see cref="CyclesPerSimdPass"/> per SIMD pass.
/// </summary>
public sealed class SliceMapProgram : PeProgram
{
    /// <summary>Computes output slices from input slices (all of the same length, float32 words).</summary>
    public delegate void SliceFunction(float[][] inputs, float[][] outputs);

    private readonly int _e, _inputs, _outputs, _simd;
    private readonly int[] _valid;
    private readonly SliceFunction _fn;
    private readonly string _name;

    /// <summary>A map over <paramref name="inputs"/> → <paramref name="outputs"/> tensors with <paramref name="e"/> elements per PE.</summary>
    public SliceMapProgram(string name, int e, int inputs, int outputs, int[] validPerPe, SliceFunction fn, int cyclesPerSimdPass, int simd)
    {
        _name = name; _e = e; _inputs = inputs; _outputs = outputs; _valid = validPerPe; _fn = fn; _simd = Math.Max(1, simd);
        CyclesPerSimdPass = Math.Max(1, cyclesPerSimdPass);
        BindLocalTask(0, Body, name);
    }

    /// <summary>Cycles one SIMD pass of the map's sequence costs (1 for a single FMAC-class instruction).</summary>
    public int CyclesPerSimdPass { get; }
    /// <inheritdoc/>
    public override string Name => _name;
    /// <summary>Byte address of input <paramref name="i"/>'s slice.</summary>
    public int InputAddress(int i) => i * _e * 4;
    /// <summary>Byte address of output <paramref name="i"/>'s slice.</summary>
    public int OutputAddress(int i) => (_inputs + i) * _e * 4;
    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes => (_inputs + _outputs) * _e * 4;

    private void Body(Pe pe)
    {
        int v = _valid[pe.Ly * Region.Width + pe.Lx];
        if (v == 0) return;
        var ins = new float[_inputs][];
        for (int i = 0; i < _inputs; i++) ins[i] = pe.F32(InputAddress(i), v).ToArray();
        var outs = new float[_outputs][];
        for (int i = 0; i < _outputs; i++) outs[i] = new float[v];
        _fn(ins, outs);
        for (int i = 0; i < _outputs; i++) outs[i].CopyTo(pe.F32(OutputAddress(i), v));
        // one pass per output over the slice, each pass a sequence of CyclesPerSimdPass instructions
        pe.Spend(_outputs * CyclesPerSimdPass * ((v + _simd - 1) / _simd));
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe) => pe.Activate(0);

    /// <summary>Runs the map on <paramref name="region"/>; returns the outputs (each of the inputs' length) and the cycles.</summary>
    public static (float[][] Outputs, long Cycles) Run(FabricSimulator sim, Region region, string name, float[][] inputs, int outputs, int length,
        SliceFunction fn, int cyclesPerSimdPass)
    {
        int pes = (int)region.PeCount;
        int e = Math.Max(1, (length + pes - 1) / pes);
        var valid = new int[pes];
        for (int i = 0; i < pes; i++) valid[i] = Math.Clamp(length - i * e, 0, e);
        var prog = new SliceMapProgram(name, e, inputs.Length, outputs, valid, fn, cyclesPerSimdPass, sim.Spec.SimdWidth(DType.Float32));
        if (prog.SramBytes > sim.Spec.PeSramBytes)
            throw new ArgumentException($"{name}: {e} elements per PE over {inputs.Length + outputs} tensors exceed the {sim.Spec.PeSramBytes}-byte SRAM; use a larger region");
        for (int i = 0; i < pes; i++)
        {
            if (valid[i] == 0) continue;
            var pe = sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width);
            for (int t = 0; t < inputs.Length; t++) inputs[t].AsSpan(i * e, valid[i]).CopyTo(pe.F32(prog.InputAddress(t), e));
        }
        long t0 = sim.Now;
        sim.Load(prog, region);
        long end = sim.Run();
        sim.Phase(name, t0, end);
        var outv = new float[outputs][];
        for (int o = 0; o < outputs; o++)
        {
            outv[o] = new float[length];
            for (int i = 0; i < pes; i++)
                if (valid[i] > 0) sim.PeAt(region.X + i % region.Width, region.Y + i / region.Width).F32(prog.OutputAddress(o), valid[i]).CopyTo(outv[o].AsSpan(i * e));
        }
        return (outv, end - t0);
    }
}
