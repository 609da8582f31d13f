using WaferSharp.Compiler.Kernels;
using WaferSharp.Compiler.Placement;
using WaferSharp.Hardware;

namespace WaferSharp.Compiler;

/// <summary>
/// The graph compiler: lowers a training step (forward + backward + optimizer update) or an inference step to mesh
/// kernels, places them on the (defective) fabric, routes them, plans SRAM and predicts the step time, in
/// layer-pipelined or weight-streaming mode (or picks one with <see cref="ExecutionMode.Auto"/>).
/// </summary>
public static class WaferCompiler
{
    /// <summary>Compiles one fixed graph (batch = <paramref name="batchSize"/> samples).</summary>
    public static WaferProgram Compile(Graph.Graph graph, int batchSize, CompileOptions options) =>
        Compile(ModelSource.Fixed(graph, batchSize), options, inference: graph.Updates.Count == 0);

    /// <summary>Compiles a model source for training (the graph has updates) or inference.</summary>
    public static WaferProgram Compile(ModelSource src, CompileOptions o, bool inference)
    {
        if (o.Systems < 1) throw new ArgumentException($"--systems must be at least 1, got {o.Systems}");
        if (src.BatchSize < 1) throw new ArgumentException($"--batch-size must be at least 1, got {src.BatchSize}");
        if (o.Defects is { } d && (d.Width != o.Wafer.Width || d.Height != o.Wafer.Height))
            throw new ArgumentException($"the defect map is for a {d.Width}x{d.Height} fabric but {o.Wafer.Name} is {o.Wafer.Width}x{o.Wafer.Height}");
        var p = o.Cost ?? new CostParams(o.Wafer, o.Precision);
        switch (o.Mode)
        {
            case ExecutionMode.Pipelined:
                if (!inference && o.Systems > 1)
                    throw new ArgumentException("layer-pipelined training runs on one system; use --mode weight-streaming for --systems > 1");
                return Pipelined(src, o, p, inference, "requested with --mode pipelined");
            case ExecutionMode.WeightStreaming:
                return Streaming(src, o, p, inference, "requested with --mode weight-streaming");
        }
        if (!inference && o.Systems > 1)
            return Streaming(src, o, p, inference, $"--systems {o.Systems}: multi-system training is data parallel in weight-streaming mode");
        WaferProgram? pipe = null, ws = null;
        string? pipeWhy = null, wsWhy = null;
        try { pipe = Pipelined(src, o, p, inference, ""); }
        catch (ModelTooLargeException e) { pipeWhy = e.Message; }
        catch (Routing.RoutingException e) { pipeWhy = e.Message; }
        if (inference && pipe is not null)
        {
            pipe.ModeReason = $"auto: inference pins the weights in SRAM ({pipe.SystemsNeeded} system{(pipe.SystemsNeeded > 1 ? "s" : "")}), layers pipelined";
            return pipe;
        }
        try { ws = Streaming(src, o, p, inference, ""); }
        catch (ModelTooLargeException e) { wsWhy = e.Message; }
        if (pipe is null && ws is null) throw new ModelTooLargeException($"the model fits neither mode: pipelined: {pipeWhy}; weight streaming: {wsWhy}");
        if (pipe is null) { ws!.ModeReason = $"auto: weight-streaming, because layer-pipelined does not fit ({pipeWhy})"; return ws; }
        if (ws is null) { pipe.ModeReason = $"auto: layer-pipelined, because weight streaming does not fit ({wsWhy})"; return pipe; }
        string both = $"at batch {src.BatchSize}: layer-pipelined {pipe.StepCycles / o.Wafer.ClockHz * 1e3:0.###} ms/step ({pipe.Schedule.Microbatches} micro-batch{(pipe.Schedule.Microbatches > 1 ? "es" : "")}), weight streaming {ws.StepCycles / o.Wafer.ClockHz * 1e3:0.###} ms/step";
        if (pipe.StepCycles <= ws.StepCycles)
        {
            pipe.ModeReason = $"auto: layer-pipelined fits ({pipe.SramBytesMaxPerPe / 1024.0:0.#} KiB of {o.Wafer.PeSramBytes / 1024} KiB on the fullest PE) and is {ws.StepCycles / pipe.StepCycles:0.##}x faster than weight streaming {both}";
            return pipe;
        }
        ws.ModeReason = $"auto: weight-streaming is {pipe.StepCycles / ws.StepCycles:0.##}x faster than layer-pipelined (which would fit) {both}";
        return ws;
    }

    private static WaferProgram Pipelined(ModelSource src, CompileOptions o, CostParams p, bool inference, string reason)
    {
        var plan = PipelinedPlanner.Build(src, o, p, inference);
        var prog = NewProgram(src, o, p, "layer-pipelined", reason, inference);
        prog.SystemsNeeded = plan.Wafers;
        prog.Systems = Math.Max(o.Systems, plan.Wafers);
        var lg = plan.Graph;
        List<ProgramRoute> routes = new();
        if (!o.SkipRouting)
        {
            var (rs, routers) = PipelinedPlanner.Route(plan, o, p);
            routes = rs;
            prog.LinkLoadMax = routers.Max(r => r.MaxLinkLoad());
            prog.ColorsMaxPerPe = routers.Max(r => r.MaxColors()) + o.Wafer.ReservedColors;
            prog.Relays = rs.Sum(r => r.Lanes.Sum(l => l.RelayAt.Count));
        }
        // a stage cannot be faster than its slowest inbound route
        var inbound = new double[plan.Groups.Count];
        foreach (var r in routes) { int g = plan.GroupOf[r.To]; inbound[g] = Math.Max(inbound[g], r.Cycles); }
        var parts = plan.Parts.Select((x, g) => x with { Route = inbound[g] }).ToArray();
        int m = plan.Microbatches;
        var time = PipelinedPlanner.Timeline(parts, m, plan.Rows, lg.IsTraining);
        int k = time.Chunks;
        var stage = parts.Select(x => x.PerMicrobatch(k)).ToArray();
        double maxStage = time.Period, fill = time.Latency;
        double optim = plan.Optim.DefaultIfEmpty(0).Max();
        double inter = (plan.Wafers - 1) * o.Wafer.ClockHz * 1e-6;
        double linkBound = prog.LinkLoadMax; // wavelets per micro-batch on the busiest link, 1 per cycle
        double steady = Math.Max(maxStage, linkBound);
        double step = (m - 1) * steady + fill + inter + optim;
        prog.StepCycles = step;
        prog.Schedule = new ProgramSchedule { Kind = "pipeline", Microbatches = m, MicrobatchSize = src.BatchSize / m, RowChunks = k, Order = lg.Tasks.Select(t => t.Id).ToList() };

        for (int gi = 0; gi < plan.Groups.Count; gi++)
        {
            var r = plan.Rects[gi];
            long resident = (plan.Resident[gi] + r.Pes - 1) / r.Pes;
            var reg = new ProgramRegion
            {
                Id = gi, System = plan.WaferOf[gi], Rect = r, Tiles = Floorplanner.Tiles(r, o.Defects), Kernels = plan.Groups[gi],
                ResidentBytesPerPe = resident, WorkingBytesPerPe = plan.Working[gi], CodeBytesPerPe = p.CodeBytesPerPe, Resident = plan.ResidentBreakdown[gi],
                SramBytesPerPe = resident + plan.Working[gi] + p.CodeBytesPerPe,
                KernelColors = plan.Groups[gi].Max(ti => plan.Costs[ti].Colors), StageCycles = stage[gi],
            };
            prog.Regions.Add(reg);
        }
        prog.Resident = new ResidentBytes();
        foreach (var x in plan.ResidentBreakdown) prog.Resident.Add(x);
        double start = 0;
        var startOfGroup = new double[plan.Groups.Count];
        for (int gi = 0; gi < plan.Groups.Count; gi++) { startOfGroup[gi] = start; start += stage[gi]; }
        var inputs = Inputs(lg);
        foreach (var t in lg.Tasks)
        {
            int gi = plan.GroupOf[t.Id];
            var c = plan.Costs[t.Id];
            prog.Kernels.Add(Kernel(t, c, prog.Regions[gi], inputs[t.Id], startOfGroup[gi], 0));
        }
        prog.Routes = routes;
        Finish(prog, src, o, p, lg, inference);
        string worst = "";
        int wg = time.Slowest;
        if (wg >= 0)
        {
            var heavy = plan.Groups[wg].Where(ti => lg.Tasks[ti].Phase != Phase.Optimizer).OrderByDescending(ti => plan.Costs[ti].Cycles).FirstOrDefault(plan.Groups[wg][0]);
            worst = $"{lg.Tasks[heavy].Name} ({lg.Tasks[heavy].Kernel.Name}, region {wg} {plan.Rects[wg].W}x{plan.Rects[wg].H})";
        }
        prog.Bottleneck =
            linkBound > maxStage && (m - 1) * linkBound > fill ? $"fabric link load ({linkBound:0} wavelets per micro-batch on the busiest link)"
            : optim > Math.Max((m - 1) * steady, fill) ? "optimizer update"
            : fill > (m - 1) * steady ? $"pipeline fill/drain ({m} micro-batch{(m > 1 ? "es" : "")} of {k} row chunk{(k > 1 ? "s" : "")} through {plan.Groups.Count} stages; slowest stage {worst})"
            : $"pipeline stage {worst}";
        if (inference) Decode(prog, src, o, p, plan);
        return prog;
    }

    private static void Decode(WaferProgram prog, ModelSource src, CompileOptions o, CostParams p, PipelinedPlanner.Plan plan)
    {
        if (src.TraceDecode is null) return;
        var dg = Lowering.Lower(src.TraceDecode(1), p);
        int kv = o.SeqLen ?? 1;
        // map decode tasks onto the prefill regions by position; attention reads a KV cache of the sequence length
        var tasks = plan.Graph.Tasks;
        double latency = 0, maxStage = 0;
        var perGroup = new double[plan.Groups.Count];
        for (int i = 0; i < dg.Tasks.Count; i++)
        {
            var t = dg.Tasks[i];
            int gi = plan.GroupOf[Math.Min(tasks.Count - 1, (int)((long)i * tasks.Count / Math.Max(1, dg.Tasks.Count)))];
            var r = plan.Rects[gi];
            var w = t.Kernel is AttentionKernel ? t.Work with { N = kv } : t.Work;
            double c = t.Kernel.Estimate(w, r.W, r.H, p).Cycles;
            perGroup[gi] += c;
            latency += c;
        }
        maxStage = perGroup.Max();
        latency += (plan.Wafers - 1) * o.Wafer.ClockHz * 1e-6;
        double period = Math.Max(latency, src.BatchSize * maxStage);
        prog.DecodeTokensPerS = o.Wafer.ClockHz / period;
        if (o.SeqLen is { } s) prog.PrefillTokensPerS = s / prog.StepTimeS;
    }

    private static WaferProgram Streaming(ModelSource src, CompileOptions o, CostParams p, bool inference, string reason)
    {
        var plan = WeightStreamingPlanner.Build(src, o, p);
        var prog = NewProgram(src, o, p, "weight-streaming", reason, inference);
        var lg = plan.Graph;
        prog.StepCycles = plan.StepCycles;
        prog.WeightStreamBytes = plan.StreamBytes;
        prog.Schedule = new ProgramSchedule { Kind = "sequential", Microbatches = 1, MicrobatchSize = plan.PerSystemBatch, RecomputeSegments = plan.RecomputeSegments, Order = lg.Tasks.Select(t => t.Id).ToList() };
        var stashPerPe = (long)Math.Ceiling(plan.StashBytes / (double)plan.RecomputeSegments / Math.Max(1, prog.Fabric.UsablePes));
        var region = new ProgramRegion
        {
            Id = 0, Rect = plan.Area, Tiles = plan.Tiles, Kernels = lg.Tasks.Select(t => t.Id).ToList(), ResidentBytesPerPe = stashPerPe,
            WorkingBytesPerPe = plan.WorkingMax, CodeBytesPerPe = p.CodeBytesPerPe, SramBytesPerPe = stashPerPe + plan.WorkingMax + p.CodeBytesPerPe,
            KernelColors = lg.Tasks.Max(t => plan.Costs[t.Id].Colors), StageCycles = plan.StepCycles,
        };
        prog.Regions.Add(region);
        var inputs = Inputs(lg);
        double start = 0;
        foreach (var t in lg.Tasks)
        {
            prog.Kernels.Add(Kernel(t, plan.Costs[t.Id], region, inputs[t.Id], start, plan.Stream[t.Id]));
            prog.Kernels[^1].Cycles = Math.Max(plan.Costs[t.Id].Cycles, plan.Stream[t.Id]);
            start += plan.Times[t.Id];
        }
        prog.ColorsMaxPerPe = region.KernelColors + o.Wafer.ReservedColors;
        if (plan.RecomputeSegments > 1) prog.Notes.Add($"activations recomputed in {plan.RecomputeSegments} segments (one extra forward pass) to fit {Units.Bytes(plan.StashBytes)} of stashed activations");
        if (lg.IsTraining) prog.Notes.Add("the optimizer update runs in weight memory as gradients stream out (off the wafer's critical path)");
        Finish(prog, src, o, p, lg, inference);
        var byFamily = lg.Tasks.Where(t => t.Phase != Phase.Optimizer).GroupBy(t => t.Kernel.Name).Select(gr => (gr.Key, Cycles: gr.Sum(t => plan.Costs[t.Id].Cycles))).OrderByDescending(x => x.Cycles).First();
        prog.Bottleneck = plan.StreamBoundCycles > 0.5 * plan.StepCycles
            ? $"weight streaming I/O ({Units.Bytes(plan.StreamBytes)} per step at {SystemSpec.For(o.Wafer).IoBytesPerSecond / 1e9:0} GB/s)"
            : plan.RecomputeCycles > byFamily.Cycles ? "activation recomputation" : $"{byFamily.Key} kernels on the whole wafer ({byFamily.Cycles / plan.StepCycles * 100:0}% of the step)";
        if (inference && src.TraceDecode is not null && o.SeqLen is { } s)
        {
            var dg = Lowering.Lower(src.TraceDecode(src.BatchSize), p);
            int h = (int)Math.Max(1, prog.Fabric.UsablePes / plan.Area.W);
            double bytesPerCycle = SystemSpec.For(o.Wafer).IoBytesPerSecond / o.Wafer.ClockHz;
            double tok = dg.Tasks.Where(t => t.Phase != Phase.Optimizer).Sum(t =>
                Math.Max(t.Kernel.Estimate(t.Kernel is AttentionKernel ? t.Work with { N = s } : t.Work, plan.Area.W, h, p).Cycles,
                    t.Params.Sum(v => (double)p.Bytes(v.Type)) / bytesPerCycle));
            prog.DecodeTokensPerS = o.Wafer.ClockHz / tok;
            prog.PrefillTokensPerS = s / prog.StepTimeS;
        }
        return prog;
    }

    private static List<List<int>> Inputs(LoweredGraph lg)
    {
        var l = lg.Tasks.Select(_ => new List<int>()).ToList();
        foreach (var e in lg.Edges) if (!l[e.To].Contains(e.From)) l[e.To].Add(e.From);
        return l;
    }

    private static ProgramKernel Kernel(KernelTask t, KernelCost c, ProgramRegion reg, List<int> inputs, double start, double stream) => new()
    {
        Id = t.Id, Name = t.Name, Op = t.Op, Family = t.Kernel.Name, Algorithm = c.Algorithm, Phase = t.Phase.ToString().ToLowerInvariant(),
        RegionId = reg.Id, Region = reg.Rect, Grid = [c.GridW, c.GridH], Tiling = c.Tile, Cycles = c.Cycles, ComputeCycles = c.ComputeCycles,
        CommCycles = c.CommCycles, FixedCycles = c.FixedCycles, StreamCycles = stream, SramBytesPerPe = reg.SramBytesPerPe, Flops = t.Flops,
        Nodes = t.Nodes.Select(n => n.Id).ToList(), Inputs = inputs, StartCycle = start,
    };

    private static WaferProgram NewProgram(ModelSource src, CompileOptions o, CostParams p, string mode, string reason, bool inference)
    {
        var spec = o.Wafer;
        var area = new RegionRect(spec.ProgramX, spec.ProgramY, spec.ProgramWidth, spec.ProgramHeight);
        long dead = o.Defects?.CountDead(area.X, area.Y, area.W, area.H) ?? 0;
        return new WaferProgram
        {
            Device = spec.Name, Mode = mode, ModeReason = reason, Task = inference ? "inference" : "train",
            Precision = o.Precision.ToString().ToLowerInvariant(), BatchSize = src.BatchSize, SeqLen = o.SeqLen, Systems = o.Systems,
            SystemsNeeded = o.Systems,
            Fabric = new FabricInfo
            {
                Width = spec.Width, Height = spec.Height, Program = area, UsablePes = area.Pes - dead, DefectivePes = dead,
                DeadPes = o.Defects?.Dead.Select(d => new[] { d.X, d.Y }).ToList() ?? new(),
            },
            CostModel = new CostModelInfo
            {
                Lanes = p.Lanes, Alpha = p.Alpha, Beta = p.Beta, LinkBytesPerCycle = p.LinkBytesPerCycle, SramReadBytesPerCycle = p.SramReadBytesPerCycle,
                SramWriteBytesPerCycle = p.SramWriteBytesPerCycle, KernelOverheadCycles = p.KernelOverheadCycles, StepOverheadCycles = p.StepOverheadCycles,
                ClockHz = spec.ClockHz,
            },
        };
    }

    private static void Finish(WaferProgram prog, ModelSource src, CompileOptions o, CostParams p, LoweredGraph lg, bool inference)
    {
        var spec = o.Wafer;
        var sys = SystemSpec.For(spec);
        prog.StepTimeS = prog.StepCycles / spec.ClockHz;
        // the traced graph covers one micro-batch or one system's share: scale its FLOPs to the global batch
        double perGraph = prog.Schedule.MicrobatchSize > 0 ? prog.Schedule.MicrobatchSize : src.BatchSize;
        double scale = src.Rebatchable ? src.BatchSize / perGraph : 1;
        double optimFlops = lg.Tasks.Where(t => t.Phase == Phase.Optimizer).Sum(t => t.Flops);
        prog.StepFlops = (lg.Flops - optimFlops) * scale + optimFlops;
        prog.HostIoS = lg.HostBytes * scale / sys.IoBytesPerSecond;
        prog.SamplesPerS = src.BatchSize / prog.StepTimeS;
        if (o.SeqLen is { } s) prog.TokensPerS = prog.SamplesPerS * s;
        prog.Tflops = prog.StepFlops / prog.StepTimeS / 1e12;
        prog.PeakTflops = spec.PeakFlopsPerSecond(p.DType) * prog.Systems / 1e12;
        prog.Utilization = prog.Tflops / prog.PeakTflops;
        prog.PesUsed = prog.Mode == "weight-streaming" ? prog.Fabric.UsablePes : prog.Regions.Sum(r => r.Rect.Pes);
        prog.SramBytesMaxPerPe = prog.Regions.Count == 0 ? 0 : prog.Regions.Max(r => r.SramBytesPerPe);
        if (inference)
        {
            long kv = lg.Tasks.Where(t => t.Kernel is AttentionKernel).Sum(t => p.Bytes(t.Nodes[0].Inputs[1].Type) + p.Bytes(t.Nodes[^1].Inputs[1].Type));
            if (kv > 0) prog.KvCacheBytes = kv * scale;
        }
        prog.Notes.Add($"clock {spec.ClockHz / 1e9:0.###} GHz (uncertain; cycles are the primary unit); {p.Lanes} {p.DType} FMACs per PE per cycle");
    }
}
