using WaferSharp.Compiler;
using WaferSharp.Tensors;

namespace WaferSharp.Fabric.Programs;

/// <summary>
/// A permutation whose data change PEs (a transpose of every axis) as a real exchange over a row of P PEs: PE i holds
/// input elements [i·e, (i+1)·e) and ends with output elements [i·e, (i+1)·e) (e = ⌈E/P⌉). Three fabric phases: each
/// PE packs, per destination PE, the elements that go there in output order (strided vector moves, one per run of
/// constant source stride); each packed buffer streams as wavelets to its destination along the row
/// (<see cref="RouteTransferProgram"/>, SRAM to SRAM, one pair at a time); each PE scatters what arrived into its output
/// slice (strided vector moves again). The permutation itself is only planned on the host (which moves go where); the
/// data stay in simulated SRAM from placement to gather.
/// </summary>
public static class TransposeExchange
{
    /// <summary>PEs of the exchange row at most (pairs grow as P², each streamed on its own).</summary>
    public const int MaxPes = 8;

    private readonly record struct Move(int Dst, int DstStride, int Src, int SrcStride, int Length);

    // a program running a fixed list of memory-to-memory moves on each PE
    private sealed class MovesProgram : PeProgram
    {
        private readonly Dictionary<int, List<Move>> _moves;
        private readonly string _name;

        public MovesProgram(Dictionary<int, List<Move>> moves, string name)
        {
            _moves = moves; _name = name;
            BindLocalTask(0, pe =>
            {
                foreach (var m in _moves[pe.Id])
                    pe.Exec(VecOp.Mov, Dsd.Mem(m.Dst, m.Length, stride: m.DstStride), Dsd.Mem(m.Src, m.Length, stride: m.SrcStride));
            }, name);
        }

        public override string Name => _name;

        public override void Setup(Pe pe) { if (_moves.ContainsKey(pe.Id)) pe.Activate(0); }
    }

    /// <summary>
    /// Runs output[o] = input[source[o]] for the E-element permutation <paramref name="source"/> on the first row of
    /// <paramref name="region"/>; null when the slices do not fit the PEs' SRAM.
    /// </summary>
    public static (float[] Output, long Cycles)? Run(FabricSimulator sim, Region region, float[] input, int[] source, string name)
    {
        int total = input.Length;
        if (total == 0) return (Array.Empty<float>(), 0);
        int p = Math.Max(1, Math.Min(Math.Min(region.Width, MaxPes), total));
        int e = (total + p - 1) / p;
        // input slice at 0, packed buffers at e, received buffers at 2e, output slice at 3e (floats)
        if (16L * e + 64 > sim.Spec.PeSramBytes) return null;
        int In = 0, Pack = 4 * e, Recv = 8 * e, Out = 12 * e;
        int Pe(int i) => region.Y * sim.Width + region.X + i;
        // per (source i, destination j): source offsets and destination offsets, in output order
        var src = new List<int>[p, p]; var dst = new List<int>[p, p];
        for (int i = 0; i < p; i++) for (int j = 0; j < p; j++) { src[i, j] = new List<int>(); dst[i, j] = new List<int>(); }
        for (int o = 0; o < total; o++)
        {
            int s = source[o], i = s / e, j = o / e;
            src[i, j].Add(s - i * e); dst[i, j].Add(o - j * e);
        }
        // buffer (i → j) sits at the same offset in i's packed area and in j's received area
        var offset = new int[p, p];
        var packMoves = new Dictionary<int, List<Move>>(); var scatterMoves = new Dictionary<int, List<Move>>();
        for (int i = 0; i < p; i++)
        {
            int at = 0;
            for (int j = 0; j < p; j++) { offset[i, j] = at; at += src[i, j].Count; }
        }
        var recvAt = new int[p, p];
        for (int j = 0; j < p; j++)
        {
            int at = 0;
            for (int i = 0; i < p; i++) { recvAt[i, j] = at; at += dst[i, j].Count; }
        }
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
            {
                // pack: buffer[k] = in[src[k]]; scatter: out[dst[k]] = buffer[k]
                foreach (var (k, len, first, stride) in Runs(src[i, j]))
                    Add(packMoves, Pe(i), new Move(Pack + 4 * (offset[i, j] + k), 1, In + 4 * first, stride, len));
                // a PE's own share is scattered straight from its packed area
                int from = i == j ? Pack + 4 * offset[i, j] : Recv + 4 * recvAt[i, j];
                foreach (var (k, len, first, stride) in Runs(dst[i, j]))
                    Add(scatterMoves, Pe(j), new Move(Out + 4 * first, stride, from + 4 * k, 1, len));
            }
        var row = new Region(region.X, region.Y, p, 1);
        for (int i = 0; i < p; i++)
        {
            int n = Math.Clamp(total - i * e, 0, e);
            if (n > 0) input.AsSpan(i * e, n).CopyTo(sim.PeAt(row.X + i, row.Y).F32(In, n));
        }
        long cycles = RunMoves(sim, row, packMoves, name + " pack");
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
            {
                int n = src[i, j].Count;
                if (n == 0 || i == j) continue;
                (int, int) at = (Pack + 4 * offset[i, j], Recv + 4 * recvAt[i, j]);
                var lane = new RouteLane { Path = [[row.X + i, row.Y], [row.X + j, row.Y]], Colors = [0], Hops = Math.Abs(i - j), Words = n };
                var route = new ProgramRoute { From = i, To = j, Value = name, Words = n, Lanes = [lane] };
                cycles += RouteTransferProgram.RunInPlace(sim, route, [n], _ => at)!.Value;
            }
        cycles += RunMoves(sim, row, scatterMoves, name + " scatter");
        var output = new float[total];
        for (int j = 0; j < p; j++)
        {
            int n = Math.Clamp(total - j * e, 0, e);
            if (n > 0) sim.PeAt(row.X + j, row.Y).F32(Out, n).CopyTo(output.AsSpan(j * e));
        }
        return (output, cycles);
    }

    private static void Add(Dictionary<int, List<Move>> d, int pe, Move m)
    {
        if (!d.TryGetValue(pe, out var l)) d[pe] = l = new List<Move>();
        l.Add(m);
    }

    private static long RunMoves(FabricSimulator sim, Region row, Dictionary<int, List<Move>> moves, string name)
    {
        if (moves.Count == 0) return 0;
        // grow every PE's SRAM to its highest address first, so no vector instruction resizes it mid-run
        foreach (var (pe, list) in moves)
        {
            int top = list.Max(m => Math.Max(Top(m.Dst, m.DstStride, m.Length), Top(m.Src, m.SrcStride, m.Length)));
            sim.PeAt(pe % sim.Width, pe / sim.Width).F32(0, top / 4);
        }
        long t0 = sim.Now;
        sim.Load(new MovesProgram(moves, name), row);
        long end = sim.Run();
        sim.Phase(name, t0, end);
        return end - t0;
    }

    private static int Top(int addr, int stride, int len) => Math.Max(addr, addr + (len - 1) * stride * 4) + 4;

    // maximal runs of constant stride in a sequence of offsets: (first index, length, first offset, stride)
    private static IEnumerable<(int K, int Len, int First, int Stride)> Runs(List<int> s)
    {
        int k = 0;
        while (k < s.Count)
        {
            int len = 1, stride = 1;
            if (k + 1 < s.Count)
            {
                stride = s[k + 1] - s[k];
                len = 2;
                while (k + len < s.Count && s[k + len] - s[k + len - 1] == stride) len++;
            }
            yield return (k, len, s[k], stride);
            k += len;
        }
    }

    /// <summary>The source flat index of every output element of a transpose of <paramref name="shape"/> by <paramref name="perm"/>.</summary>
    public static int[] Sources(Shape shape, int[] perm)
    {
        int r = shape.Rank;
        var st = shape.Strides();
        var outDims = perm.Select(a => shape[a]).ToArray();
        var srcStride = perm.Select(a => st[a]).ToArray();
        int total = (int)shape.Numel;
        var src = new int[total];
        var idx = new int[r];
        for (int o = 0; o < total; o++)
        {
            long s = 0;
            for (int d = 0; d < r; d++) s += idx[d] * srcStride[d];
            src[o] = (int)s;
            for (int d = r - 1; d >= 0; d--) { if (++idx[d] < outDims[d]) break; idx[d] = 0; }
        }
        return src;
    }
}
