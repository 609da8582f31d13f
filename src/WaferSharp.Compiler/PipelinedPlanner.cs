using WaferSharp.Compiler.Kernels;
using WaferSharp.Compiler.Placement;
using WaferSharp.Compiler.Routing;
using WaferSharp.Graph;

namespace WaferSharp.Compiler;

/// <summary>
/// Layer-pipelined mode (training with the optimizer on the wafer, or inference with weights pinned across one or
/// more wafers). Every placement group gets its own region, sized so the pipeline is balanced: PEs in proportion to
/// time (each region just large enough for a common target stage time), but at least enough SRAM for the group's
/// resident data. Micro-batches (samples) stream through the regions, and rows (tokens) stream inside a micro-batch:
/// see <see cref="Timeline"/>; step = (m − 1)·period + latency + max optimizer update.
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
        public ResidentBytes[] ResidentBreakdown = [];
        public StageParts[] Parts = [];
        public int Rows = 1;
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
        var breakdown = ResidentSram.Plan(lg, groupOf, ng, m, p, inference);
        var resident = breakdown.Select(x => x.Total).ToArray();

        var area = new RegionRect(spec.ProgramX, spec.ProgramY, spec.ProgramWidth, spec.ProgramHeight);
        long live = area.Pes - (o.Defects?.CountDead(area.X, area.Y, area.W, area.H) ?? 0);
        long perPe = spec.PeSramBytes - p.CodeBytesPerPe - 2 * ElementwiseKernel.FifoBytes;
        long totalResident = resident.Sum();
        int wafers = Math.Max(1, (int)Math.Ceiling(totalResident / (0.97 * live * perPe)));
        if (!inference && wafers > 1)
        {
            var sum = new ResidentBytes();
            foreach (var x in breakdown) sum.Add(x);
            throw new ModelTooLargeException(
                $"the model is too big for layer-pipelined mode on one {spec.Name}: {sum.Describe(o.Precision.ToString().ToLowerInvariant())} of resident SRAM, but its {live} usable PEs hold {Units.Bytes(live * (double)perPe)} for tensors ({perPe / 1024.0:0.#} KiB each after code and FIFOs; {(double)sum.Total / (live * (double)perPe) * 100:0}% of it); use --mode weight-streaming (or a smaller --batch-size)");
        }
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
            var placed = PlaceWafer(members, lg, groups, resident, area, live, perPe, o, p, m, mu * Math.Max(1, o.SeqLen ?? 1), out var wk);
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
        var parts = new StageParts[ng];
        for (int gi = 0; gi < ng; gi++) parts[gi] = Parts(groups[gi].Select(ti => lg.Tasks[ti]), rects[gi], p, null);
        int rows = mu * Math.Max(1, o.SeqLen ?? 1);
        var time = Timeline(parts, m, rows, lg.IsTraining);
        double interWafer = (wafers - 1) * o.Wafer.ClockHz * 1e-6; // ~1 µs per system hop [uncertain]
        double step = time.Step + interWafer + optim.DefaultIfEmpty(0).Max();
        return new Plan
        {
            Graph = lg, GroupOf = groupOf, Groups = groups, Resident = resident, Rects = rects, WaferOf = waferOf, Costs = costs,
            Stage = stage, Optim = optim, Microbatch = mu, Microbatches = m, Wafers = wafers, Parts = parts, Rows = rows,
            StepCycles = step, FillCycles = time.Latency, Working = working, ResidentBreakdown = breakdown,
        };
    }

    // Picks a shelf height and region widths for the groups on one wafer; returns rectangles and working bytes.
    // Regions are sized by time, not by work: for a target stage time T each group gets the narrowest region whose
    // estimated stage (its kernels' real cost models, with their fixed latencies and bisection limits) is ≤ T, and T
    // is the smallest target whose widths fit the fabric. Single-PE work would starve kernels that scale sub-linearly
    // (transposes, row reductions over long rows) and overfeed the ones that scale perfectly.
    private static RegionRect[] PlaceWafer(List<int> members, LoweredGraph lg, List<List<int>> groups, long[] resident,
        RegionRect area, long live, long perPe, CompileOptions o, CostParams p, int m, int rows, out long[] workingOut)
    {
        RegionRect[]? bestRects = null;
        long[]? bestWorking = null;
        bool[]? bestLean = null;
        double bestScore = double.MaxValue;
        int n = members.Count;
        var tasksOf = members.Select(gi => groups[gi].Where(ti => lg.Tasks[ti].Phase != Phase.Optimizer).Select(ti => lg.Tasks[ti]).ToArray()).ToArray();
        foreach (int hs in new[] { 4, 8, 12, 16, 24, 32, 48, 64, 96 })
        {
            if (hs > area.H) break;
            // more than 64 shelves means flat regions (mesh kernels want square-ish grids): never the best on a large
            // fabric, and the costliest shelf heights to evaluate
            if (area.H / hs > MaxShelves && hs < 96) continue;
            int shelves = area.H / hs;
            long capacityCols = (long)shelves * area.W;
            int maxCols = (int)Math.Min(int.MaxValue, capacityCols);
            double liveFrac = live / (double)area.Pes;
            // estimates only change at ladder steps of the region's sides: memoise per (group, ladder cell)
            var memo = new Dictionary<(int, int, int), double>();
            var lean = new bool[n];
            double Stage(int i, int c)
            {
                var (w, h) = Floorplanner.Shape(c, hs, area.W);
                var key = (i, p.LadderFloor(w), p.LadderFloor(h));
                if (memo.TryGetValue(key, out double hit)) return hit;
                double s = 0;
                foreach (var t in tasksOf[i]) s += t.Kernel.Estimate(WorkOf(t, lean[i]), w, h, p).Cycles;
                return memo[key] = s;
            }
            var minW = new int[n];
            var working = new long[n];
            for (int i = 0; i < n; i++) minW[i] = MinWidth(groups[members[i]], lg, resident[members[i]], hs, maxCols, area, o, p, false);
            // memory-tight: regions whose SRAM floor is what sizes them trade a few chunk latencies for lean working sets
            if (minW.Any(x => x < 0) || minW.Sum(x => x > area.W ? (x + (long)area.W - 1) / area.W * area.W : x) > capacityCols * 0.85 * liveFrac)
                for (int i = 0; i < n; i++)
                {
                    int lw = MinWidth(groups[members[i]], lg, resident[members[i]], hs, maxCols, area, o, p, true);
                    if (lw >= 0 && (minW[i] < 0 || lw < minW[i])) { minW[i] = lw; lean[i] = true; }
                }
            if (minW.Any(x => x < 0)) continue;
            RegionRect[]? rects = null;
            double budget = capacityCols * 0.95 * liveFrac;
            for (int iter = 0; iter < 24; iter++)
            {
                for (int i = 0; i < n; i++) if (minW[i] > area.W) minW[i] = Math.Min(maxCols, (minW[i] + area.W - 1) / area.W * area.W);
                long minSum = minW.Sum(x => (long)x);
                if (minSum > capacityCols * 0.97 * liveFrac) { rects = null; break; }
                var widths = Balance(n, minW, maxCols, area.W, Math.Max(minSum, budget), Stage);
                rects = Floorplanner.Pack(widths, hs, area, o.Defects, (i, r) =>
                    p.CodeBytesPerPe + Working(groups[members[i]], lg, r.W, r.H, p, lean[i]) + (resident[members[i]] + r.Pes - 1) / r.Pes <= o.Wafer.PeSramBytes);
                if (rects is null)
                {
                    // shelf ends and dead PEs waste columns: aim lower and rebalance
                    if (budget <= minSum) break;
                    budget = Math.Max(minSum, budget * 0.97);
                    continue;
                }
                bool ok = true;
                for (int i = 0; i < n; i++)
                {
                    var r = rects[i];
                    working[i] = Working(groups[members[i]], lg, r.W, r.H, p, lean[i]);
                    if (p.CodeBytesPerPe + working[i] + (resident[members[i]] + r.Pes - 1) / r.Pes > o.Wafer.PeSramBytes)
                    {
                        ok = false;
                        minW[i] = Math.Min(maxCols, Math.Max(minW[i] + 1, Floorplanner.Columns(r, hs, area.W) + 1 + r.W / 4));
                    }
                }
                if (ok) break;
                rects = null;
            }
            if (rects is null) continue;
            // score: the pipeline step with these regions (the same streaming model the compiler reports)
            var parts = new StageParts[n];
            for (int i = 0; i < n; i++) parts[i] = Parts(tasksOf[i], rects[i], p, null, lean[i]);
            double score = Timeline(parts, m, rows, lg.IsTraining).Step;
            if (score < bestScore) { bestScore = score; bestRects = rects; bestWorking = (long[])working.Clone(); bestLean = lean; }
        }
        if (bestRects is null)
        {
            long need = members.Sum(gi => resident[gi]);
            throw new ModelTooLargeException(
                $"the model does not fit layer-pipelined mode on {o.Wafer.Name}: its regions need {Units.Bytes(need)} of resident SRAM ({Units.Bytes(need / (double)live)} per PE on average) plus each kernel's working buffers, and no packing of {members.Count} regions on the {live} usable PEs ({Units.Bytes(live * (double)perPe)} for tensors) leaves every PE within its {o.Wafer.PeSramBytes / 1024} KiB; use --mode weight-streaming (or a smaller --batch-size)");
        }
        // the chosen plan's lean groups keep their lean working sets
        for (int i = 0; i < n; i++)
            if (bestLean![i])
                foreach (int ti in groups[members[i]]) lg.Tasks[ti].Work = WorkOf(lg.Tasks[ti], true);
        workingOut = bestWorking!;
        return bestRects;
    }

    // A task's work, with the lean working-set cap when its region is memory-tight.
    private static KernelWork WorkOf(KernelTask t, bool lean) =>
        !lean || t.Phase == Phase.Optimizer ? t.Work
        : t.Work with { WorkingCap = t.Work.WorkingCap > 0 ? Math.Min(t.Work.WorkingCap, MeshKernel.LeanWorkingBytes) : MeshKernel.LeanWorkingBytes };

    // Widths (each in [minW, maxW]) for the smallest target stage time whose total width fits the budget.
    // Columns above one shelf's width mean whole shelves (see Floorplanner.Shape), and cost whole shelves.
    private static int[] Balance(int n, int[] minW, int maxW, int shelfW, double budget, Func<int, int, double> stage)
    {
        var w = new int[n];
        int WidthFor(int i, double target)
        {
            if (stage(i, minW[i]) <= target) return minW[i];
            int lo = minW[i], hi = maxW; // stage(lo) > target
            if (stage(i, hi) > target) return hi;
            while (lo + 1 < hi) { int mid = (lo + hi) / 2; if (stage(i, mid) <= target) hi = mid; else lo = mid; }
            return hi;
        }
        double Fill(double target)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                w[i] = WidthFor(i, target);
                if (w[i] > shelfW) w[i] = Math.Min(maxW, (w[i] + shelfW - 1) / shelfW * shelfW);
                sum += w[i];
            }
            return sum;
        }
        double tLo = 0, tHi = 0;
        for (int i = 0; i < n; i++) { tLo = Math.Max(tLo, stage(i, maxW)); tHi = Math.Max(tHi, stage(i, minW[i])); }
        if (Fill(tLo) <= budget) return w;
        for (int it = 0; it < 40 && tHi > tLo * 1.002; it++)
        {
            double mid = Math.Sqrt(tLo * tHi);
            if (Fill(mid) <= budget) tHi = mid; else tLo = mid;
        }
        Fill(tHi);
        return w;
    }

    /// <summary>One region's time per micro-batch, split as the streaming model needs it.</summary>
    internal readonly record struct StageParts(double FwdVar, double FwdFixed, double BwdVar, double BwdFixed, double Route)
    {
        /// <summary>Cycles per micro-batch when it streams through in <paramref name="chunks"/> row chunks.</summary>
        public double PerMicrobatch(int chunks) => Math.Max(FwdVar + BwdVar + chunks * (FwdFixed + BwdFixed), Route);
    }

    internal static StageParts Parts(IEnumerable<KernelTask> tasks, RegionRect r, CostParams p, double? route, bool lean = false)
    {
        double fv = 0, ff = 0, bv = 0, bf = 0;
        foreach (var t in tasks)
        {
            if (t.Phase == Phase.Optimizer) continue;
            var c = t.Kernel.Estimate(WorkOf(t, lean), r.W, r.H, p);
            double fixedPart = Math.Min(c.FixedCycles, c.Cycles);
            if (t.Phase == Phase.Forward) { fv += c.Cycles - fixedPart; ff += fixedPart; }
            else { bv += c.Cycles - fixedPart; bf += fixedPart; }
        }
        return new StageParts(fv, ff, bv, bf, route ?? 0);
    }

    /// <summary>The pipeline's step under the streaming model, and the chunking that minimises it.</summary>
    internal readonly record struct PipelineTime(double Step, double Period, double Latency, int Chunks, int Slowest);

    /// <summary>
    /// Streaming model of a layer pipeline: m micro-batches (samples) enter one after another, and inside a micro-batch
    /// rows (tokens) stream from region to region in k chunks, each chunk paying every kernel's fixed latency again.
    /// Forward chunks flow in token order; the backward runs in reverse token order (causal attention's dK/dV for a key
    /// are complete once every later query has been seen), so it starts when the last chunk reaches the loss.
    /// latency = Σ c_f + (k − 1)·max c_f + Σ c_b + (k − 1)·max c_b with c = var/k + fixed per region;
    /// period = max over regions of (var + k·fixed, inbound route); step = (m − 1)·period + latency.
    /// k is the power of two ≤ rows that minimises the step.
    /// </summary>
    internal static PipelineTime Timeline(StageParts[] parts, int m, int rows, bool training)
    {
        PipelineTime best = default;
        bool any = false;
        for (int k = 1; k <= Math.Max(1, rows); k *= 2)
        {
            double sumF = 0, maxF = 0, sumB = 0, maxB = 0, period = 0;
            int slowest = 0;
            for (int g = 0; g < parts.Length; g++)
            {
                var s = parts[g];
                double cf = Math.Max(s.FwdVar / k + s.FwdFixed, s.Route / k), cb = s.BwdVar / k + s.BwdFixed;
                sumF += cf; maxF = Math.Max(maxF, cf);
                if (training) { sumB += cb; maxB = Math.Max(maxB, cb); }
                double per = s.PerMicrobatch(k);
                if (per > period) { period = per; slowest = g; }
            }
            double latency = sumF + (k - 1) * maxF + (training ? sumB + (k - 1) * maxB : 0);
            double step = (m - 1) * period + latency;
            if (!any || step < best.Step) { best = new PipelineTime(step, period, latency, k, slowest); any = true; }
            if (k > 1 << 20) break;
        }
        return best;
    }

    private static ulong Hash(int a, int b, int k) => WaferSharp.Tensors.Generator.Mix(((ulong)(uint)a << 32 | (uint)b) * 31 + (ulong)k);

    private static long Working(List<int> group, LoweredGraph lg, int w, int h, CostParams p, bool lean = false)
    {
        long wk = 0;
        foreach (int ti in group) { var t = lg.Tasks[ti]; wk = Math.Max(wk, t.Kernel.Estimate(WorkOf(t, lean), w, h, p).SramBytesPerPe); }
        return wk;
    }

    // The narrowest region of height hs whose PEs hold the group's resident data and its kernels' working sets; -1 if none.
    private static int MinWidth(List<int> group, LoweredGraph lg, long resident, int hs, int maxCols, RegionRect area, CompileOptions o, CostParams p, bool lean)
    {
        bool Fits(int c)
        {
            var (w, h) = Floorplanner.Shape(c, hs, area.W);
            return p.CodeBytesPerPe + Working(group, lg, w, h, p, lean) + (resident + (long)w * h - 1) / ((long)w * h) <= o.Wafer.PeSramBytes;
        }
        int lo = (int)Math.Max(1, Math.Ceiling(resident / (double)(o.Wafer.PeSramBytes - p.CodeBytesPerPe) / hs));
        if (lo > maxCols) return -1;
        if (Fits(lo)) return lo;
        int hi = lo;
        while (hi < maxCols && !Fits(hi)) hi = Math.Min(maxCols, hi * 2);
        if (!Fits(hi)) return -1;
        while (lo + 1 < hi) { int mid = (lo + hi) / 2; if (Fits(mid)) hi = mid; else lo = mid; }
        return hi;
    }

    /// <summary>Most shelves a packing may have (shelf heights that need more are skipped).</summary>
    private const int MaxShelves = 64;

    /// <summary>
    /// Most parallel lanes one route uses: one per row (column) of a shared region boundary, or per row of the source
    /// and column of the destination for diagonal pairs. Each lane is its own link, so a transfer's bandwidth is its
    /// lane count in wavelets per cycle.
    /// </summary>
    internal const int MaxLanes = 64;

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
        var pending = new List<(ProgramRoute Route, int Wafer, int Lanes, Func<int, (int Sx, int Sy, int Dx, int Dy)> End, RegionRect A, RegionRect B)>();
        var done = new HashSet<(int, int, Value)>();
        foreach (var e in plan.Graph.Edges)
        {
            int gf = plan.GroupOf[e.From], gt = plan.GroupOf[e.To];
            if (gf == gt || plan.WaferOf[gf] != plan.WaferOf[gt] || !done.Add((gf, gt, e.Value))) continue;
            var a = plan.Rects[gf]; var b = plan.Rects[gt];
            double words = p.Words(e.Bytes);
            var route = new ProgramRoute { From = e.From, To = e.To, Value = $"%{e.Value.Id}:{e.Value.Type}", Words = words };
            // Lanes: regions side by side (sharing rows) or stacked (sharing columns) stream over parallel straight lanes
            // across the shared boundary, one row or column each (no router carries two of them). Diagonal pairs (no
            // shared rows or columns) get link-disjoint X-then-Y lanes: lane l leaves a's facing edge on its own row and
            // turns into its own column of b, so no two lanes share a link (two meet at a crossing). More lanes = more
            // link bandwidth; colors per router stay one per lane crossing it.
            int y0 = Math.Max(a.Y, b.Y), y1 = Math.Min(a.Y + a.H, b.Y + b.H), x0 = Math.Max(a.X, b.X), x1 = Math.Min(a.X + a.W, b.X + b.W);
            bool sideBySide = y1 > y0 && x1 <= x0, stacked = x1 > x0 && y1 <= y0;
            int lanes = sideBySide ? Math.Min(MaxLanes, y1 - y0) : stacked ? Math.Min(MaxLanes, x1 - x0) : Math.Min(MaxLanes, Math.Min(a.H, b.W));
            int sx0 = b.X >= a.X + a.W ? a.X + a.W - 1 : b.X + b.W <= a.X ? a.X : a.X + a.W / 2;
            int dx0 = b.X >= a.X + a.W ? b.X : b.X + b.W <= a.X ? b.X + b.W - 1 : b.X + b.W / 2;
            (int, int, int, int) End(int l)
            {
                int sx = sx0, dx = dx0;
                int sy = a.Y + (int)((l + 0.5) * a.H / lanes), dy = b.Y + (int)((l + 0.5) * b.H / lanes);
                if (sideBySide) sy = dy = y0 + (int)((l + 0.5) * (y1 - y0) / lanes);
                else if (stacked)
                {
                    sx = dx = x0 + (int)((l + 0.5) * (x1 - x0) / lanes);
                    sy = b.Y >= a.Y + a.H ? a.Y + a.H - 1 : a.Y;
                    dy = b.Y >= a.Y + a.H ? b.Y : b.Y + b.H - 1;
                }
                else
                {
                    dx = b.X + (int)((l + 0.5) * b.W / lanes);
                    dy = b.Y >= a.Y + a.H ? b.Y : b.Y + b.H - 1;
                }
                return (sx, sy, dx, dy);
            }
            pending.Add((route, plan.WaferOf[gf], lanes, End, a, b));
        }

        // Every route's first lane before any route's extra lanes: extra bandwidth never takes the colors a later
        // route needs to exist at all. A lane that finds no free color is dropped; the lanes a route keeps carry all
        // of its wavelets (Carry), and its transfer time is its busiest link's share (words / lanes kept when the lanes
        // are link-disjoint).
        for (int pass = 0; pass < 2; pass++)
            foreach (var (route, wafer, lanes, end, a, b) in pending)
            {
                var router = routers[wafer];
                for (int l = pass == 0 ? 0 : 1; l < (pass == 0 ? 1 : lanes); l++)
                {
                    var (sx, sy, dx, dy) = end(l);
                    RouteLane? lane = null;
                    // spread congested routes: try other source/destination columns and rows of the two regions
                    for (int k = 0; k < 12 && lane is null; k++)
                    {
                        int ox = k == 0 ? 0 : (int)(Hash(route.From, route.To, k * 64 + l) % 1024);
                        int oy = k == 0 ? 0 : (int)(Hash(route.To, route.From, k * 64 + l) % 1024);
                        int sx2 = k == 0 ? sx : a.X + ox % a.W, dx2 = k == 0 ? dx : b.X + ox % b.W;
                        int sy2 = k == 0 ? sy : a.Y + (sy - a.Y + oy) % a.H, dy2 = k == 0 ? dy : b.Y + (dy - b.Y + oy) % b.H;
                        lane = router.TryRoute(sx2, sy2, dx2, dy2, 0); // colors now, wavelets once the lane count is final
                    }
                    if (lane is null && pass == 0) throw router.Congested(sx, sy, dx, dy);
                    if (lane is null) break; // congested: this route keeps the lanes it has
                    route.Lanes.Add(lane);
                }
            }
        foreach (var (route, wafer, _, _, _, _) in pending)
        {
            double busiest = routers[wafer].Carry(route.Lanes, route.Words);
            int hops = route.Lanes.Max(l => l.Hops), relays = route.Lanes.Max(l => l.RelayAt.Count);
            route.Cycles = busiest + p.Alpha * hops + p.Beta * relays;
            routes.Add(route);
        }
        return (routes, routers);
    }
}
