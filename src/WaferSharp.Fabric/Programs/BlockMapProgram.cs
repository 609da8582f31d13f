using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Fabric.Programs;

/// <summary>
/// A PE-local program over blocks of a tensor's first axis: PE i of the region runs an op's own rule on its block of
/// leading rows (inputs sharing the leading axis are split, the others — weights, scalars — are given whole), and is
/// charged a software sequence of <c>cycles per SIMD pass × ⌈elements / SIMD⌉</c>. Outputs that share the leading axis
/// are concatenated; the others (per-block partial sums such as LayerNormGrad's dγ, dβ) are returned per block for a
/// fabric reduction. Used for row-local ops with no vector-instruction program (norm and softmax gradients, the
/// causal mask) and for layout ops (Split, Concat, Slice). Unlike <see cref="SliceMapProgram"/>, block data are not
/// staged through simulated SRAM; only the time is simulated.
/// </summary>
public sealed class BlockMapProgram : PeProgram
{
    private readonly Func<int, long> _block;
    private readonly int _blocks;

    /// <summary>A program whose PE i (i &lt; <paramref name="blocks"/>) runs <paramref name="block"/>(i), which returns the block's cycles.</summary>
    public BlockMapProgram(string name, int blocks, Func<int, long> block)
    {
        _blocks = blocks; _block = block;
        BindLocalTask(0, pe =>
        {
            int i = pe.Ly * Region.Width + pe.Lx;
            if (i < _blocks) pe.Spend((int)Math.Min(int.MaxValue, _block(i)));
        }, name);
    }

    /// <inheritdoc/>
    public override void Setup(Pe pe) => pe.Activate(0);

    /// <summary>
    /// Runs <paramref name="node"/>'s rule on blocks of its inputs' first axis over <paramref name="region"/>;
    /// returns full outputs (leading-axis outputs concatenated, other outputs as the list of per-block partials) and cycles.
    /// </summary>
    public static (DenseTensor?[] Outputs, List<DenseTensor>[] Partials, long Cycles) Run(FabricSimulator sim, Region region, Node node, DenseTensor[] ins, int cyclesPerPass)
    {
        int rows = node.Inputs.Length > 0 && ins[0].Shape.Rank > 0 ? ins[0].Shape[0] : 1;
        int blocks = (int)Math.Min(region.PeCount, rows);
        int per = (rows + blocks - 1) / blocks;
        blocks = (rows + per - 1) / per;
        bool[] split = ins.Select(t => t.Shape.Rank > 0 && t.Shape[0] == rows).ToArray();
        bool[] lead = node.Outputs.Select(o => o.Shape.Rank > 0 && o.Shape[0] == rows).ToArray();
        var pieces = new DenseTensor[blocks][];
        int simd = sim.Spec.SimdWidth(DType.Float32);
        var prog = new BlockMapProgram(node.Op.Name, blocks, i =>
        {
            int r0 = i * per, n = Math.Min(per, rows - r0);
            var bi = new DenseTensor[ins.Length];
            for (int k = 0; k < ins.Length; k++) bi[k] = split[k] ? Rows(ins[k], r0, n) : ins[k];
            var types = node.Op.InferTypes(bi.Select(t => new TensorType(t.DType, t.Shape)).ToArray(), node.Attrs);
            pieces[i] = node.Op.Execute(bi, node.Attrs, types);
            long elems = bi.Where((t, k) => split[k]).Sum(t => t.Shape.Numel) + pieces[i].Sum(t => t.Shape.Numel);
            return (long)cyclesPerPass * ((elems + simd - 1) / simd);
        });
        long t0 = sim.Now;
        sim.Load(prog, region with { Height = Math.Max(1, Math.Min(region.Height, (blocks + region.Width - 1) / region.Width)) });
        long end = sim.Run();
        sim.Phase(node.Op.Name, t0, end);
        var outs = new DenseTensor?[node.Outputs.Length];
        var partials = new List<DenseTensor>[node.Outputs.Length];
        for (int o = 0; o < outs.Length; o++)
        {
            partials[o] = new List<DenseTensor>();
            if (!lead[o]) { for (int i = 0; i < blocks; i++) partials[o].Add(pieces[i][o]); continue; }
            var shape = node.Outputs[o].Shape;
            var f = new float[shape.Numel];
            long off = 0;
            for (int i = 0; i < blocks; i++) { var s = pieces[i][o].AsFloat32().AsFloat(); s.CopyTo(f.AsSpan((int)off)); off += s.Length; }
            outs[o] = DenseTensor.FromArray(f, shape.Dims.ToArray()).To(node.Outputs[o].DType);
        }
        return (outs, partials, end - t0);
    }

    private static DenseTensor Rows(DenseTensor t, int r0, int n)
    {
        var dims = t.Shape.Dims.ToArray();
        long inner = t.Shape.Numel / dims[0];
        dims[0] = n;
        var f = t.AsFloat32().AsFloat().Slice((int)(r0 * inner), (int)(n * inner)).ToArray();
        return DenseTensor.FromArray(f, dims).To(t.DType);
    }
}
