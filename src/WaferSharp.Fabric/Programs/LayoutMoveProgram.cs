using WaferSharp.Graph;

namespace WaferSharp.Fabric.Programs;

/// <summary>One PE-local copy of a <see cref="LayoutMoveProgram"/>: a strided vector move between two tensors' slots (or a fill).</summary>
/// <param name="Dst">Destination tensor (inputs first, then outputs).</param>
/// <param name="DstOffset">First destination element.</param>
/// <param name="DstStride">Destination stride (elements).</param>
/// <param name="Src">Source tensor, or −1 to write <paramref name="Fill"/>.</param>
/// <param name="SrcOffset">First source element.</param>
/// <param name="SrcStride">Source stride (elements; may be negative).</param>
/// <param name="Length">Elements moved.</param>
/// <param name="Fill">The value written when <paramref name="Src"/> is −1.</param>
public readonly record struct FiberMove(int Dst, int DstOffset, int DstStride, int Src, int SrcOffset, int SrcStride, int Length, float Fill = 0);

/// <summary>
/// A layout op (Slice, SliceGrad, a Transpose that keeps some leading or trailing axes; Split and Concat in a blocked
/// variant, <see cref="RunBlocked"/>) as data moves on the PEs. Every tensor is viewed as [outer, A, inner] where the op
/// only rearranges the middle axis A (the sliced axis; a transpose's permuted middle axes) and keeps outer and inner; the outer × inner
/// fibers are spread over the region (⌈F/PEs⌉ = fp per PE), each PE holding its fibers' full middle axis a-major
/// (element (a, f) at a·fp + f). In that layout the op moves no data between PEs: each PE runs a few strided vector
/// moves (<see cref="FiberMove"/>), e.g. one per kept index of a strided slice. Ops whose data must change PEs (a transpose of all axes)
/// have no plan here.
/// </summary>
public sealed class LayoutMoveProgram : PeProgram
{
    private readonly int[] _addr;
    private readonly FiberMove[] _moves;
    private readonly int[] _valid;

    /// <summary>A program over tensors of middle lengths <paramref name="a"/> with <paramref name="fp"/> fiber slots per PE.</summary>
    public LayoutMoveProgram(int[] a, int fp, FiberMove[] moves, int[] validPerPe, string name)
    {
        _moves = moves; _valid = validPerPe;
        _addr = new int[a.Length + 1];
        for (int t = 0; t < a.Length; t++) _addr[t + 1] = _addr[t] + a[t] * fp * 4;
        BindLocalTask(0, pe =>
        {
            if (_valid[pe.Ly * Region.Width + pe.Lx] == 0) return;
            foreach (var m in _moves)
                pe.Exec(VecOp.Mov, Dsd.Mem(_addr[m.Dst] + m.DstOffset * 4, m.Length, stride: m.DstStride),
                    m.Src < 0 ? Dsd.Scalar(m.Fill) : Dsd.Mem(_addr[m.Src] + m.SrcOffset * 4, m.Length, stride: m.SrcStride));
        }, name);
    }

    /// <summary>Byte address of tensor <paramref name="t"/>'s slots.</summary>
    public int Address(int t) => _addr[t];
    /// <summary>SRAM bytes per PE.</summary>
    public int SramBytes => _addr[^1];

    /// <inheritdoc/>
    public override void Setup(Pe pe) => pe.Activate(0);

    /// <summary>A layout op as fibers: outer and inner sizes, each input's and output's middle length, and the moves for fp slots per PE.</summary>
    public sealed record Plan(long Outer, long Inner, int[] InputA, int[] OutputA, Func<int, FiberMove[]> Moves);

    /// <summary>The fiber plan of <paramref name="n"/> (Slice, SliceGrad, Transpose; Split and Concat use <see cref="RunBlocked"/>), or null when its data must change PEs.</summary>
    public static Plan? PlanOf(Node n)
    {
        var s = n.Inputs[0].Shape;
        switch (n.Op.Name)
        {
            case "Slice": case "SliceGrad":
            {
                bool grad = n.Op.Name == "SliceGrad";
                var full = grad ? n.Outputs[0].Shape : s;
                int axis = full.Axis(n.Attrs.GetInt("axis", 0));
                int count = n.Outputs[0].Shape[axis];
                if (grad) count = s[axis];
                int begin = SliceBegin(full, axis, n.Attrs, count), step = n.Attrs.GetInt("step", 1);
                int a = full[axis];
                return new Plan(full.Prod(0, axis), full.Prod(axis + 1, full.Rank), [grad ? count : a], [grad ? a : count], fp =>
                {
                    var m = new List<FiberMove>();
                    if (grad) m.Add(new FiberMove(1, 0, 1, -1, 0, 1, a * fp));
                    if (count == 0) return m.ToArray();
                    // the sliced positions of the full tensor; sliced element j sits at j·fp in the compact one
                    if (step == 1) m.Add(grad ? new FiberMove(1, begin * fp, 1, 0, 0, 1, count * fp) : new FiberMove(1, 0, 1, 0, begin * fp, 1, count * fp));
                    else if (count <= fp)
                        for (int j = 0; j < count; j++)
                            m.Add(grad ? new FiberMove(1, (begin + j * step) * fp, 1, 0, j * fp, 1, fp) : new FiberMove(1, j * fp, 1, 0, (begin + j * step) * fp, 1, fp));
                    else
                        for (int f = 0; f < fp; f++)
                            m.Add(grad ? new FiberMove(1, begin * fp + f, step * fp, 0, f, fp, count) : new FiberMove(1, f, fp, 0, begin * fp + f, step * fp, count));
                    return m.ToArray();
                });
            }
            case "Transpose":
            {
                int r = s.Rank;
                var p = n.Attrs.Has("perm") ? n.Attrs.GetInts("perm").Select(x => x < 0 ? x + r : x).ToArray() : Enumerable.Range(0, r).Reverse().ToArray();
                int k = 0;
                while (k < r && p[k] == k) k++;
                int e = r;
                while (e > k && p[e - 1] == e - 1) e--;
                if (k == e) return new Plan(s.Numel, 1, [1], [1], fp => [new FiberMove(1, 0, 1, 0, 0, 1, fp)]);
                if (k == 0 && e == r) return null; // every axis moves: the data changes PEs
                var mid = Enumerable.Range(k, e - k).Select(i => s[i]).ToArray();
                int amid = mid.Aggregate(1, (x, y) => x * y);
                // input strides (in middle elements) of the output's middle axes
                var inStride = new int[mid.Length];
                for (int i = mid.Length - 1, st = 1; i >= 0; i--) { inStride[i] = st; st *= mid[i]; }
                var outDims = Enumerable.Range(k, e - k).Select(i => s[p[i]]).ToArray();
                var srcStride = Enumerable.Range(k, e - k).Select(i => inStride[p[i] - k]).ToArray();
                return new Plan(s.Prod(0, k), s.Prod(e, r), [amid], [amid], fp =>
                {
                    int last = outDims[^1], ls = srcStride[^1];
                    int runs = amid / last;
                    var m = new List<FiberMove>();
                    var idx = new int[outDims.Length - 1];
                    for (int q = 0; q < runs; q++)
                    {
                        // source offset of the run's first element, from the output multi-index of the outer middle axes
                        int rem = q, src = 0;
                        for (int d = outDims.Length - 2; d >= 0; d--) { idx[d] = rem % outDims[d]; rem /= outDims[d]; src += idx[d] * srcStride[d]; }
                        if (fp < last)
                            for (int f = 0; f < fp; f++) m.Add(new FiberMove(1, q * last * fp + f, fp, 0, src * fp + f, ls * fp, last));
                        else
                            for (int j = 0; j < last; j++) m.Add(new FiberMove(1, (q * last + j) * fp, 1, 0, (src + j * ls) * fp, 1, fp));
                    }
                    return m.ToArray();
                });
            }
        }
        return null;
    }

    private static int SliceBegin(WaferSharp.Tensors.Shape full, int axis, Attrs attrs, int count)
    {
        // Python's slice.indices, as the Slice op resolves it
        long nn = full[axis], step = attrs.GetLong("step", 1);
        long lower = step < 0 ? -1 : 0, upper = step < 0 ? nn - 1 : nn;
        long Clamp(long v) { if (v < 0) { v += nn; return v < lower ? lower : v; } return v > upper ? upper : v; }
        long start = attrs.Has("start") ? Clamp(attrs.GetLong("start")) : (step < 0 ? upper : lower);
        return count == 0 ? 0 : (int)start;
    }

    /// <summary>
    /// Runs <paramref name="plan"/> on <paramref name="region"/> over the row-major float32 <paramref name="inputs"/>:
    /// fibers placed a-major on the PEs (in rounds when they exceed the region's SRAM), the moves run, outputs gathered.
    /// Returns null when one fiber's middle axes do not fit a PE.
    /// </summary>
    public static (float[][] Outputs, long Cycles)? Run(FabricSimulator sim, Region region, Plan plan, float[][] inputs, string name)
    {
        long fibers = plan.Outer * plan.Inner;
        var a = plan.InputA.Concat(plan.OutputA).ToArray();
        long perFiber = a.Sum(x => (long)x) * 4;
        int capacity = (int)Math.Min(int.MaxValue, (sim.Spec.PeSramBytes - 64) / Math.Max(4, perFiber));
        if (capacity < 1) return null;
        int pes = (int)Math.Min(region.PeCount, Math.Max(1, fibers));
        var outs = plan.OutputA.Select(x => new float[fibers * x]).ToArray();
        int ni = plan.InputA.Length;
        long cycles = 0;
        long perRound = (long)pes * capacity;
        for (long f0 = 0; f0 < Math.Max(1, fibers); f0 += perRound)
        {
            long nf = Math.Min(perRound, fibers - f0);
            int usedPes = (int)Math.Min(pes, Math.Max(1, nf));
            int fp = (int)((nf + usedPes - 1) / usedPes);
            int w = Math.Min(region.Width, usedPes);
            var reg = new Region(region.X, region.Y, w, (usedPes + w - 1) / w);
            var valid = new int[reg.Width * reg.Height];
            for (int i = 0; i < usedPes; i++) valid[i] = (int)Math.Clamp(nf - (long)i * fp, 0, fp);
            var prog = new LayoutMoveProgram(a, fp, plan.Moves(fp), valid, name);
            for (int i = 0; i < usedPes; i++)
            {
                if (valid[i] == 0) continue;
                var pe = sim.PeAt(reg.X + i % reg.Width, reg.Y + i / reg.Width);
                pe.F32(0, prog.SramBytes / 4);
                for (int t = 0; t < ni; t++)
                {
                    var mem = pe.F32(prog.Address(t), plan.InputA[t] * fp);
                    Fibers(inputs[t], plan.Inner, plan.InputA[t], f0 + (long)i * fp, valid[i], fp, mem, toPe: true);
                }
            }
            long t0 = sim.Now;
            sim.Load(prog, reg);
            long end = sim.Run();
            sim.Phase(name, t0, end);
            cycles += end - t0;
            for (int i = 0; i < usedPes; i++)
            {
                if (valid[i] == 0) continue;
                var pe = sim.PeAt(reg.X + i % reg.Width, reg.Y + i / reg.Width);
                for (int o = 0; o < outs.Length; o++)
                    Fibers(outs[o], plan.Inner, plan.OutputA[o], f0 + (long)i * fp, valid[i], fp, pe.F32(prog.Address(ni + o), plan.OutputA[o] * fp), toPe: false);
            }
        }
        return (outs, cycles);
    }

    /// <summary>
    /// Split or Concat in a blocked layout: the axis is cut into blocks of d elements, d dividing every piece's length, so
    /// each block of the input (Split) or output (Concat) belongs to exactly one piece and the outer × blocks × inner
    /// fibers spread over the region (d chosen to minimise the elements per PE). Every PE then holds both sides of its
    /// fibers and copies them with one vector move; no data changes PE. Null for other ops or when a fiber does not fit.
    /// </summary>
    public static (float[][] Outputs, long Cycles)? RunBlocked(FabricSimulator sim, Region region, Node n, float[][] inputs)
    {
        bool split = n.Op.Name == "Split";
        if (!split && n.Op.Name != "Concat") return null;
        var whole = split ? n.Inputs[0].Shape : n.Outputs[0].Shape;
        int axis = whole.Axis(n.Attrs.GetInt("axis", 0));
        var pieces = (split ? n.Outputs : n.Inputs).Select(v => v.Shape[axis]).ToArray();
        long outer = whole.Prod(0, axis), inner = whole.Prod(axis + 1, whole.Rank);
        int g = pieces.Aggregate(whole[axis], Gcd);
        if (g == 0) return null;
        // the block size: a divisor of g with the fewest elements per PE (ties: the larger block, fewer fibers)
        long pes0 = region.PeCount;
        int d = g; long best = long.MaxValue;
        for (int c = g; c >= 1; c--)
        {
            if (g % c != 0) continue;
            long fibers0 = outer * (whole[axis] / c) * inner, per = (fibers0 + pes0 - 1) / pes0 * c;
            if (per < best) { best = per; d = c; }
        }
        long blocks = whole[axis] / d, fibers = outer * blocks * inner;
        int capacity = (int)Math.Min(int.MaxValue, (sim.Spec.PeSramBytes - 64) / (8L * d));
        if (capacity < 1) return null;
        // fiber f = ((o·blocks + b)·inner + m) of the whole tensor ↔ piece p, fiber ((o·blocksₚ + b − startₚ)·inner + m)
        var start = new long[pieces.Length];
        for (int i = 1; i < pieces.Length; i++) start[i] = start[i - 1] + pieces[i - 1] / d;
        (int Piece, long Fiber) PieceOf(long f)
        {
            long m = f % inner, ob = f / inner, b = ob % blocks, o = ob / blocks;
            int p = Array.FindLastIndex(start, x => x <= b);
            while (p > 0 && pieces[p] == 0) p--;
            long bp = pieces[p] / d;
            return (p, (o * bp + b - start[p]) * inner + m);
        }
        var pieceData = split ? null : inputs;
        var outs = split ? pieces.Select(x => new float[outer * x * inner]).ToArray() : [new float[outer * whole[axis] * inner]];
        int pes = (int)Math.Min(pes0, Math.Max(1, fibers));
        long perRound = (long)pes * capacity, cycles = 0;
        for (long f0 = 0; f0 < fibers; f0 += perRound)
        {
            long nf = Math.Min(perRound, fibers - f0);
            int used = (int)Math.Min(pes, nf), fp = (int)((nf + used - 1) / used);
            int w = Math.Min(region.Width, used);
            var reg = new Region(region.X, region.Y, w, (used + w - 1) / w);
            var valid = new int[reg.Width * reg.Height];
            for (int i = 0; i < used; i++) valid[i] = (int)Math.Clamp(nf - (long)i * fp, 0, fp);
            var prog = new LayoutMoveProgram([d, d], fp, [new FiberMove(1, 0, 1, 0, 0, 1, d * fp)], valid, n.Op.Name);
            for (int i = 0; i < used; i++)
            {
                if (valid[i] == 0) continue;
                var mem = sim.PeAt(reg.X + i % reg.Width, reg.Y + i / reg.Width).F32(prog.Address(0), d * fp);
                for (int fl = 0; fl < valid[i]; fl++)
                {
                    long f = f0 + (long)i * fp + fl;
                    if (split) Fiber(inputs[0], inner, d, f, fl, fp, mem, toPe: true);
                    else { var (p, pf) = PieceOf(f); Fiber(pieceData![p], inner, d, pf, fl, fp, mem, toPe: true); }
                }
            }
            long t0 = sim.Now;
            sim.Load(prog, reg);
            long end = sim.Run();
            sim.Phase($"{n.Op.Name} (blocked)", t0, end);
            cycles += end - t0;
            for (int i = 0; i < used; i++)
            {
                if (valid[i] == 0) continue;
                var mem = sim.PeAt(reg.X + i % reg.Width, reg.Y + i / reg.Width).F32(prog.Address(1), d * fp);
                for (int fl = 0; fl < valid[i]; fl++)
                {
                    long f = f0 + (long)i * fp + fl;
                    if (!split) Fiber(outs[0], inner, d, f, fl, fp, mem, toPe: false);
                    else { var (p, pf) = PieceOf(f); Fiber(outs[p], inner, d, pf, fl, fp, mem, toPe: false); }
                }
            }
        }
        return (outs, cycles);
    }

    private static int Gcd(int a, int b) { while (b != 0) (a, b) = (b, a % b); return a; }

    // one fiber f of a row-major [outer, blocks·d, inner] tensor viewed as fibers of d elements (stride inner) ↔ slot fl
    private static void Fiber(float[] t, long inner, int d, long f, int fl, int fp, Span<float> mem, bool toPe)
    {
        long m = f % inner, ob = f / inner;
        long baseIdx = ob * d * inner + m;
        for (int j = 0; j < d; j++)
        {
            long idx = baseIdx + j * inner;
            if (toPe) mem[j * fp + fl] = t[idx]; else t[idx] = mem[j * fp + fl];
        }
    }

    // copies fibers [first, first + count) of a row-major [outer, A, inner] tensor to (or from) a-major PE slots
    private static void Fibers(float[] t, long inner, int a, long first, int count, int fp, Span<float> mem, bool toPe)
    {
        for (int fl = 0; fl < count; fl++)
        {
            long f = first + fl, o = f / inner, n = f % inner;
            long baseIdx = o * a * inner + n;
            for (int j = 0; j < a; j++)
            {
                long idx = baseIdx + j * inner;
                if (toPe) mem[j * fp + fl] = t[idx]; else t[idx] = mem[j * fp + fl];
            }
        }
    }
}
