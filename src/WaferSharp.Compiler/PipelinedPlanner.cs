using WaferSharp.Compiler.Kernels;
using WaferSharp.Compiler.Placement;
using WaferSharp.Compiler.Routing;
using WaferSharp.Graph;

namespace WaferSharp.Compiler;

/// <summary>
/// Layer-pipelined mode (training with the optimizer on the wafer, or inference with weights pinned across one or
/// more wafers). Every placement group gets its own region, sized so the pipeline is balanced: PEs in proportion to
/// work, but at least enough SRAM for the group's resident data. Micro-batches stream through the regions:
/// step = (m − 1)·max stage + Σ stages + max optimizer update.
/// </summary>
internal static class PipelinedPlanner
{
    internal sealed class Plan
    {
        public required LoweredGraph Graph;
        public required int[] GroupOf;
        public required List<List<int>> Groups;
        public required long[] Resident;
        public required RegionRect[] Rects;
        public required int[] WaferOf;
        public required KernelCost[] Costs;
        public required double[] Stage;
        public required double[] Optim;
        public int Microbatch, Microbatches, Wafers;
        public double StepCycles, FillCycles;
        public long[] Working = [];
    }

    public static Plan Build(ModelSource src, CompileOptions o, CostParams p, bool inference)
    {
        var spec = o.Wafer;
        int b = src.BatchSize;
        var mus = src.Rebatchable ? new SortedSet<int> { 1, b } : new SortedSet<int> { b };
        Plan? best = null;
        Exception? lastError = null;
        foreach (int mu in mus)
        {
            if (b % mu != 0) continue;
            try
            {
                var plan = BuildAt(src.At(mu), mu, b / mu, o, p, inference);
                if (best is null || plan.StepCycles < best.StepCycles) best = plan;
            }
            catch (ModelTooLargeException e) { lastError = e; }
        }
        return best ?? throw lastError!;
    }

    private static Plan BuildAt(Graph.Graph g, int mu, int m, CompileOptions o, CostParams p, bool inference)
    {
        var spec = o.Wafer;
        var lg = Lowering.Lower(g, p);
        var (groupOf, groups) = Grouping.Build(lg);
        int ng = groups.Count;
        var resident = new long[ng];
        var work = new double[ng];
        var seenParam = new HashSet<Value>();
        var seenState = new HashSet<Value>();
        foreach (var t in lg.Tasks)
        {
            int gi = groupOf[t.Id];
            foreach (var pv in t.Params)
                if (seenParam.Add(pv)) resident[gi] += lg.IsTraining ? pv.Type.Numel * 2L * p.MasterBytes : p.Bytes(pv.Type);
            foreach (var sv in t.States)
                if (seenState.Add(sv)) resident[gi] += sv.Type.Numel * (long)p.MasterBytes;
            if (t.Phase != Phase.Optimizer) work[gi] += t.Kernel.Raw(t.Work, 1, 1, p).Cycles; // balance by single-PE time, not FLOPs: row ops and data movement count too
            if (inference && t.Kernel is AttentionKernel)
                resident[gi] += (p.Bytes(t.Nodes[0].Inputs[1].Type) + p.Bytes(t.Nodes[^1].Inputs[1].Type)) * (long)m; // KV cache of every sequence
        }
        if (lg.IsTraining)
        {
            var stashed = new HashSet<(Value, int)>();
            foreach (var e in lg.Edges)
                if (lg.Tasks[e.From].Phase == Phase.Forward && lg.Tasks[e.To].Phase == Phase.Backward && stashed.Add((e.Value, groupOf[e.To])))
                    resident[groupOf[e.To]] += e.Bytes * m; // every micro-batch of the step is in flight until its backward
        }

        var area = new RegionRect(spec.ProgramX, spec.ProgramY, spec.ProgramWidth, spec.ProgramHeight);
        long live = area.Pes - (o.Defects?.CountDead(area.X, area.Y, area.W, area.H) ?? 0);
        long perPe = spec.PeSramBytes - p.CodeBytesPerPe - 2 * ElementwiseKernel.FifoBytes;
        long totalResident = resident.Sum();
        int wafers = Math.Max(1, (int)Math.Ceiling(totalResident / (0.97 * live * perPe)));
        if (!inference && wafers > 1)
            throw new ModelTooLargeException(
                $"the model does not fit layer-pipelined mode: weights, gradients, optimizer state and stashed activations need {Units.Bytes(totalResident)} of SRAM but one {spec.Name} holds {Units.Bytes(live * (double)perPe)} usable; use --mode weight-streaming (or a smaller --batch-size)");
        if (inference && wafers > o.Systems && o.Systems > 1)
            throw new ModelTooLargeException($"the model's weights and KV cache need {Units.Bytes(totalResident)}, {wafers} systems of {spec.Name}, but --systems is {o.Systems}; use --systems {wafers} or more");

        // split groups into contiguous chunks, one per wafer, by resident bytes and work
        var waferOf = new int[ng];
        if (wafers > 1)
        {
            double per = totalResident / (double)wafers, acc = 0;
            for (int gi = 0; gi < ng; gi++)
            {
                waferOf[gi] = Math.Min(wafers - 1, (int)(acc / per));
                acc += resident[gi];
            }
        }

        var rects = new RegionRect[ng];
        var working = new long[ng];
        for (int wi = 0; wi < wafers; wi++)
        {
            var members = Enumerable.Range(0, ng).Where(gi => waferOf[gi] == wi).ToList();
            var placed = PlaceWafer(members, lg, groups, resident, work, area, live, perPe, o, p, m, out var wk);
            for (int i = 0; i < members.Count; i++) { rects[members[i]] = placed[i]; working[members[i]] = wk[i]; }
        }

        var costs = new KernelCost[lg.Tasks.Count];
        var stage = new double[ng];
        var optim = new double[ng];
        foreach (var t in lg.Tasks)
        {
            var r = rects[groupOf[t.Id]];
            var c = t.Kernel.Estimate(t.Work, r.W, r.H, p);
            costs[t.Id] = c;
            if (t.Phase == Phase.Optimizer) optim[groupOf[t.Id]] += c.Cycles; else stage[groupOf[t.Id]] += c.Cycles;
        }
        double maxStage = stage.Max(), fill = stage.Sum();
        double interWafer = (wafers - 1) * o.Wafer.ClockHz * 1e-6; // ~1 µs per system hop [uncertain]
        double step = (m - 1) * maxStage + fill + interWafer + optim.DefaultIfEmpty(0).Max();
        return new Plan
        {
            Graph = lg, GroupOf = groupOf, Groups = groups, Resident = resident, Rects = rects, WaferOf = waferOf, Costs = costs,
            Stage = stage, Optim = optim, Microbatch = g.Inputs.Count > 0 ? 0 : 0, Microbatches = m, Wafers = wafers,
            StepCycles = step, FillCycles = fill, Working = working,
        };
    }

    // Picks a shelf height and region widths for the groups on one wafer; returns rectangles and working bytes.
    private static RegionRect[] PlaceWafer(List<int> members, LoweredGraph lg, List<List<int>> groups, long[] resident, double[] work,
        RegionRect area, long live, long perPe, CompileOptions o, CostParams p, int m, out long[] workingOut)
    {
        RegionRect[]? bestRects = null;
        long[]? bestWorking = null;
        double bestScore = double.MaxValue;
        int n = members.Count;
        foreach (int hs in new[] { 4, 8, 12, 16, 24, 32, 48, 64, 96 })
        {
            if (hs > area.H) break;
            int shelves = area.H / hs;
            long capacityCols = (long)shelves * area.W;
            double liveFrac = live / (double)area.Pes;
            // minimum widths from SRAM, then fix up for kernel working sets (iterate)
            var minW = new int[n];
            var working = new long[n];
            for (int i = 0; i < n; i++) minW[i] = MinWidth(groups[members[i]], lg, resident[members[i]], hs, area.W, o, p);
            if (minW.Any(x => x < 0)) continue;
            RegionRect[]? rects = null;
            for (int iter = 0; iter < 8; iter++)
            {
                long minSum = minW.Sum(x => (long)x);
                if (minSum > capacityCols * 0.97 * liveFrac) { rects = null; break; }
                // water-filling: widths ∝ work, at least minW, total within capacity
                double budget = capacityCols * 0.95 * liveFrac;
                var widths = WaterFill(members.Select(gi => work[gi]).ToArray(), minW, budget, area.W);
                rects = null;
                for (int shrink = 0; shrink < 40 && rects is null; shrink++)
                {
                    rects = Floorplanner.Pack(widths, hs, area, o.Defects);
                    if (rects is null)
                    {
                        bool changed = false;
                        for (int i = 0; i < n; i++)
                        {
                            int nw = Math.Max(minW[i], (int)(widths[i] * 0.9));
                            if (nw != widths[i]) { widths[i] = nw; changed = true; }
                        }
                        if (!changed) break;
                    }
                }
                if (rects is null) break;
                bool ok = true;
                for (int i = 0; i < n; i++)
                {
                    var r = rects[i];
                    working[i] = Working(groups[members[i]], lg, r.W, r.H, p);
                    if (p.CodeBytesPerPe + working[i] + (resident[members[i]] + r.Pes - 1) / r.Pes > o.Wafer.PeSramBytes)
                    {
                        ok = false;
                        minW[i] = Math.Min(area.W, Math.Max(minW[i] + 1, r.W + 1 + r.W / 4));
                    }
                }
                if (ok) break;
                rects = null;
            }
            if (rects is null) continue;
            // score: the pipeline step with these regions
            double maxStage = 0, sum = 0;
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                foreach (int ti in groups[members[i]])
                {
                    var t = lg.Tasks[ti];
                    if (t.Phase != Phase.Optimizer) s += t.Kernel.Estimate(t.Work, rects[i].W, rects[i].H, p).Cycles;
                }
                maxStage = Math.Max(maxStage, s); sum += s;
            }
            double score = (m - 1) * maxStage + sum;
            if (score < bestScore) { bestScore = score; bestRects = rects; bestWorking = (long[])working.Clone(); }
        }
        if (bestRects is null)
        {
            long need = members.Sum(gi => resident[gi]);
            throw new ModelTooLargeException(
                $"the model does not fit layer-pipelined mode on {o.Wafer.Name}: its regions need {Units.Bytes(need)} of resident SRAM plus kernel buffers, more than the {live} usable PEs can be packed with; use --mode weight-streaming (or a smaller --batch-size)");
        }
        workingOut = bestWorking!;
        return bestRects;
    }

    private static ulong Hash(int a, int b, int k) => WaferSharp.Tensors.Generator.Mix(((ulong)(uint)a << 32 | (uint)b) * 31 + (ulong)k);

    private static long Working(List<int> group, LoweredGraph lg, int w, int h, CostParams p)
    {
        long wk = 0;
        foreach (int ti in group) { var t = lg.Tasks[ti]; wk = Math.Max(wk, t.Kernel.Estimate(t.Work, w, h, p).SramBytesPerPe); }
        return wk;
    }

    // The narrowest region of height hs whose PEs hold the group's resident data and its kernels' working sets; -1 if none.
    private static int MinWidth(List<int> group, LoweredGraph lg, long resident, int hs, int maxW, CompileOptions o, CostParams p)
    {
        bool Fits(int w) => p.CodeBytesPerPe + Working(group, lg, w, hs, p) + (resident + (long)w * hs - 1) / ((long)w * hs) <= o.Wafer.PeSramBytes;
        int lo = (int)Math.Max(1, Math.Ceiling(resident / (double)(o.Wafer.PeSramBytes - p.CodeBytesPerPe) / hs));
        if (lo > maxW) return -1;
        if (Fits(lo)) return lo;
        int hi = lo;
        while (hi < maxW && !Fits(hi)) hi = Math.Min(maxW, hi * 2);
        if (!Fits(hi)) return -1;
        while (lo + 1 < hi) { int mid = (lo + hi) / 2; if (Fits(mid)) hi = mid; else lo = mid; }
        return hi;
    }

    private static int[] WaterFill(double[] work, int[] minW, double budget, int maxW)
    {
        int n = work.Length;
        var w = new int[n];
        var fixedSet = new bool[n];
        double remaining = budget;
        for (int iter = 0; iter < 50; iter++)
        {
            double free = 0, workFree = 0;
            for (int i = 0; i < n; i++) if (!fixedSet[i]) workFree += work[i];
            free = remaining;
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                if (fixedSet[i]) continue;
                double share = workFree > 0 ? free * work[i] / workFree : free / n;
                if (share < minW[i] || share > maxW)
                {
                    fixedSet[i] = true;
                    w[i] = share < minW[i] ? minW[i] : maxW;
                    remaining -= w[i];
                    changed = true;
                }
            }
            if (!changed) break;
        }
        double wf = 0;
        for (int i = 0; i < n; i++) if (!fixedSet[i]) wf += work[i];
        for (int i = 0; i < n; i++)
            if (!fixedSet[i]) w[i] = Math.Clamp((int)Math.Floor(Math.Max(0, remaining) * work[i] / Math.Max(wf, 1e-9)), minW[i], maxW);
        return w;
    }

    /// <summary>Lays routes for every edge between groups on the same wafer; returns them with the router state.</summary>
    public static (List<ProgramRoute> Routes, Router[] Routers) Route(Plan plan, CompileOptions o, CostParams p)
    {
        var spec = o.Wafer;
        var routers = new Router[plan.Wafers];
        for (int wi = 0; wi < plan.Wafers; wi++)
        {
            routers[wi] = new Router(spec.Width, spec.Height, spec.UsableColors, o.Defects);
            for (int gi = 0; gi < plan.Groups.Count; gi++)
            {
                if (plan.WaferOf[gi] != wi) continue;
                int colors = plan.Groups[gi].Max(ti => plan.Costs[ti].Colors);
                routers[wi].ReserveKernelColors(plan.Rects[gi], Math.Min(colors, spec.UsableColors - 2));
            }
        }
        var routes = new List<ProgramRoute>();
        var done = new HashSet<(int, int, Value)>();
        foreach (var e in plan.Graph.Edges)
        {
            int gf = plan.GroupOf[e.From], gt = plan.GroupOf[e.To];
            if (gf == gt || plan.WaferOf[gf] != plan.WaferOf[gt] || !done.Add((gf, gt, e.Value))) continue;
            var a = plan.Rects[gf]; var b = plan.Rects[gt];
            int dist = Math.Abs(a.X - b.X) + Math.Abs(a.Y - b.Y);
            int lanes = dist > 64 ? 1 : Math.Max(1, Math.Min(4, Math.Min(a.H, b.H))); // long routes get one lane: colors are scarce
            double words = p.Words(e.Bytes);
            var route = new ProgramRoute { From = e.From, To = e.To, Value = $"%{e.Value.Id}:{e.Value.Type}", Words = words };
            int sx = b.X >= a.X + a.W ? a.X + a.W - 1 : b.X + b.W <= a.X ? a.X : a.X + a.W / 2;
            int dx = b.X >= a.X + a.W ? b.X : b.X + b.W <= a.X ? b.X + b.W - 1 : b.X + b.W / 2;
            int maxHops = 0, relays = 0;
            for (int l = 0; l < lanes; l++)
            {
                int sy = a.Y + (int)((l + 0.5) * a.H / lanes), dy = b.Y + (int)((l + 0.5) * b.H / lanes);
                var router = routers[plan.WaferOf[gf]];
                RouteLane? lane = null;
                // spread congested routes: try other source/destination columns and rows of the two regions
                for (int k = 0; k < 12 && lane is null; k++)
                {
                    int ox = k == 0 ? 0 : (int)(Hash(e.From, e.To, k) % 1024);
                    int oy = k == 0 ? 0 : (int)(Hash(e.To, e.From, k) % 1024);
                    int sx2 = k == 0 ? sx : a.X + ox % a.W, dx2 = k == 0 ? dx : b.X + ox % b.W;
                    int sy2 = k == 0 ? sy : a.Y + (sy - a.Y + oy) % a.H, dy2 = k == 0 ? dy : b.Y + (dy - b.Y + oy) % b.H;
                    lane = router.TryRoute(sx2, sy2, dx2, dy2, words / lanes);
                }
                if (lane is null) throw router.Congested(sx, sy, dx, dy);
                route.Lanes.Add(lane);
                maxHops = Math.Max(maxHops, lane.Hops);
                relays = Math.Max(relays, lane.RelayAt.Count);
            }
            route.Cycles = Math.Ceiling(words / lanes) + p.Alpha * maxHops + p.Beta * relays;
            routes.Add(route);
        }
        return (routes, routers);
    }
}
