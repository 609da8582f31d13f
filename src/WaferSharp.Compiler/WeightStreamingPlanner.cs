using WaferSharp.Compiler.Kernels;
using WaferSharp.Compiler.Placement;
using WaferSharp.Graph;
using WaferSharp.Hardware;

namespace WaferSharp.Compiler;

/// <summary>
/// Weight-streaming mode: each kernel runs on the whole wafer in turn; weights stream in from weight memory at the
/// system's I/O bandwidth (forward, and again for backward), gradients stream out, the optimizer runs off-wafer
/// (in weight memory). N systems split the batch (data parallel), with weights broadcast and gradients reduced by
/// the broadcast/reduce tree. kernel time = max(compute on the wafer, weights in, gradients out);
/// step = Σ kernel times + recomputation + 2·tree depth·stage latency.
/// </summary>
internal static class WeightStreamingPlanner
{
    internal sealed class Plan
    {
        public required LoweredGraph Graph;
        public required KernelCost[] Costs;
        public required double[] Times;
        public required double[] Stream;
        public required RegionRect Area;
        public required List<RegionRect> Tiles;
        public double StepCycles, ComputeCycles, StreamBoundCycles, RecomputeCycles, SwarmCycles;
        public int RecomputeSegments = 1;
        public long StashBytes, WorkingMax;
        public double StreamBytes;
        public int PerSystemBatch;
    }

    public static Plan Build(ModelSource src, CompileOptions o, CostParams p)
    {
        var spec = o.Wafer;
        var cluster = ClusterSpec.Of(spec, o.Systems);
        int b = src.BatchSize;
        if (b < o.Systems || (src.Rebatchable && b % o.Systems != 0))
            throw new ArgumentException($"--batch-size {b} must be a positive multiple of --systems {o.Systems} (each system takes an equal share of the batch)");
        int per = src.Rebatchable ? b / o.Systems : b;
        var lg = Lowering.Lower(src.At(per), p);
        var area = new RegionRect(spec.ProgramX, spec.ProgramY, spec.ProgramWidth, spec.ProgramHeight);
        long live = area.Pes - (o.Defects?.CountDead(area.X, area.Y, area.W, area.H) ?? 0);
        int hEff = (int)Math.Max(1, live / area.W);

        double paramBytes = lg.Parameters.Sum(v => (double)v.Type.Numel);
        double memoryNeed = paramBytes * (lg.IsTraining ? 4 + 4 + 8 : p.ElementBytes);
        if (memoryNeed > cluster.WeightMemoryBytes)
            throw new ModelTooLargeException($"weights and optimizer state need {memoryNeed / 1e12:0.##} TB but the weight memory holds {cluster.WeightMemoryBytes / 1e12:0.##} TB");

        double bytesPerCycle = cluster.System.IoBytesPerSecond / spec.ClockHz;
        var costs = new KernelCost[lg.Tasks.Count];
        var times = new double[lg.Tasks.Count];
        var stream = new double[lg.Tasks.Count];
        double compute = 0, streamBound = 0, forward = 0, streamBytes = 0;
        long workingMax = 0;
        var consumers = new Dictionary<int, List<int>>();
        foreach (var e in lg.Edges) { if (!consumers.TryGetValue(e.From, out var l)) consumers[e.From] = l = new(); l.Add(e.To); }
        foreach (var t in lg.Tasks)
        {
            if (t.Phase == Phase.Optimizer) { costs[t.Id] = new KernelCost(0, 0, 0, 0, 0, "on-weight-memory", 0, 0, 0, "runs in weight memory"); continue; }
            var c = t.Kernel.Estimate(t.Work, area.W, hEff, p);
            costs[t.Id] = c;
            // (weights stream through in panels: the kernels' working sets hold the received panels, not whole blocks)
            workingMax = Math.Max(workingMax, c.SramBytesPerPe);
            double inBytes = t.Params.Sum(v => (double)p.Bytes(v.Type));
            double outBytes = 0;
            if (t.Phase == Phase.Backward && consumers.TryGetValue(t.Id, out var cs) && cs.All(x => lg.Tasks[x].Phase == Phase.Optimizer))
                outBytes = t.Nodes[^1].Outputs.Sum(v => (double)p.Bytes(v.Type));
            streamBytes += inBytes + outBytes;
            double s = Math.Ceiling(Math.Max(inBytes, outBytes) / bytesPerCycle);
            stream[t.Id] = s;
            times[t.Id] = Math.Max(c.Cycles, s);
            compute += c.Cycles;
            if (s > c.Cycles) streamBound += s - c.Cycles;
            if (t.Phase == Phase.Forward) forward += times[t.Id];
        }

        // activations kept on the wafer between forward and backward; recompute segments when they do not fit
        long stash = 0;
        var seen = new HashSet<Value>();
        foreach (var e in lg.Edges)
            if (lg.Tasks[e.From].Phase == Phase.Forward && lg.Tasks[e.To].Phase == Phase.Backward && seen.Add(e.Value)) stash += e.Bytes;
        double capacity = live * (double)(spec.PeSramBytes - p.CodeBytesPerPe - workingMax);
        int segments = 1;
        while (stash / (double)segments > 0.6 * capacity && segments < 4096) segments *= 2;
        if (stash / (double)segments > 0.6 * capacity)
            throw new ModelTooLargeException($"activations of {per} samples need {Units.Bytes(stash)} on the wafer even with recomputation; use a smaller --batch-size or more --systems");
        double recompute = segments > 1 ? forward : 0;
        double swarm = cluster.SwarmStages * 2 * cluster.SwarmStageSeconds * spec.ClockHz;
        double step = times.Sum() + recompute + swarm;
        return new Plan
        {
            Graph = lg, Costs = costs, Times = times, Stream = stream, Area = area, Tiles = Floorplanner.Tiles(area, o.Defects),
            StepCycles = step, ComputeCycles = compute, StreamBoundCycles = streamBound, RecomputeCycles = recompute, SwarmCycles = swarm,
            RecomputeSegments = segments, StashBytes = stash, WorkingMax = workingMax, StreamBytes = streamBytes, PerSystemBatch = per,
        };
    }
}
