namespace WaferSharp.Gpu;

/// <summary>Constraints on the search: null leaves a dimension free.</summary>
public sealed record PlanConstraints
{
    /// <summary>Fixed TP degree.</summary>
    public int? Tp { get; init; }
    /// <summary>Fixed PP degree.</summary>
    public int? Pp { get; init; }
    /// <summary>Fixed DP degree.</summary>
    public int? Dp { get; init; }
    /// <summary>Fixed micro-batch.</summary>
    public int? Microbatch { get; init; }
    /// <summary>Fixed interleaving (virtual stages per GPU).</summary>
    public int? Interleave { get; init; }
    /// <summary>Fixed ZeRO stage.</summary>
    public int? Zero { get; init; }
    /// <summary>Fixed recomputation.</summary>
    public Recompute? Recompute { get; init; }
    /// <summary>Fixed sequence parallelism.</summary>
    public bool? SequenceParallel { get; init; }
    /// <summary>Largest TP degree tried when TP is free (default: one node).</summary>
    public int? MaxTp { get; init; }
    /// <summary>Largest micro-batch tried when it is free.</summary>
    public int MaxMicrobatch { get; init; } = 64;
}

/// <summary>The outcome of a search.</summary>
/// <param name="Best">The fastest plan that fits, or null when none does.</param>
/// <param name="Top">The fastest plans that fit, best first.</param>
/// <param name="Evaluated">Plans evaluated.</param>
/// <param name="Rejected">Evaluated plans that did not fit in memory.</param>
/// <param name="ClosestMiss">When nothing fits: the plan that came closest (least missing memory), with its estimate.</param>
/// <param name="Advice">When nothing fits: what would make it fit.</param>
public sealed record PlanSearchResult(PlanEstimate? Best, IReadOnlyList<PlanEstimate> Top, int Evaluated, int Rejected,
    PlanEstimate? ClosestMiss, string? Advice);

/// <summary>
/// Exhaustive search over TP, PP (and interleaving), DP, micro-batch, ZeRO stage, recomputation and sequence
/// parallelism for the fastest plan that fits. Per-layer times are cached by (micro-batch, TP, SP), so each
/// candidate costs a few arithmetic operations; GPT-3 175B on 1024 GPUs evaluates ~10⁵ plans in well under a second.
/// </summary>
public static class Planner
{
    /// <summary>Searches plans for <paramref name="gpus"/> GPUs; returns the best and the top <paramref name="topK"/>.</summary>
    public static PlanSearchResult Search(ClusterSpec cluster, TrainingJob job, int gpus, PlanConstraints? constraints = null, int topK = 10)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(job);
        if (gpus < 1) throw new ArgumentException($"--gpus must be positive, got {gpus}");
        if (job.GlobalBatch < 1) throw new ArgumentException($"--global-batch must be positive, got {job.GlobalBatch}");
        var k = constraints ?? new PlanConstraints();
        var model = job.Model;
        var cache = new TrainingCostModel.LayerCache();
        var top = new List<PlanEstimate>();
        PlanEstimate? closest = null;
        int evaluated = 0, rejected = 0;
        int maxTp = k.MaxTp ?? cluster.GpusPerNode;

        foreach (int t in Options(k.Tp, Divisors(gpus).Where(x => x <= maxTp)))
        {
            if (!model.AllowsTensorParallel(t) || gpus % t != 0) continue;
            foreach (int pp in Options(k.Pp, Divisors(gpus / t).Where(x => x <= model.Layers)))
            {
                if ((gpus / t) % pp != 0) continue;
                int d = gpus / (t * pp);
                if (k.Dp is { } fd && fd != d) continue;
                if (job.GlobalBatch % d != 0) continue;
                int perReplica = job.GlobalBatch / d;
                foreach (int b in Options(k.Microbatch, Divisors(perReplica).Where(x => x <= k.MaxMicrobatch)))
                {
                    if (perReplica % b != 0) continue;
                    int m = perReplica / b;
                    foreach (int v in Options(k.Interleave, pp == 1 ? [1] : Divisors(model.Layers / pp).Where(x => x <= 8)))
                        foreach (int z in Options(k.Zero, d == 1 ? [0] : [0, 1, 2, 3]))
                            foreach (var rc in Options(k.Recompute, [Recompute.None, Recompute.Selective, Recompute.Full]))
                                foreach (bool sp in Options(k.SequenceParallel, t == 1 ? [false] : [false, true]))
                                {
                                    var plan = new TrainingPlan(t, pp, d, b, v, z, rc, sp);
                                    if (TrainingCostModel.Validate(job, plan) is not null) continue;
                                    var e = TrainingCostModel.EvaluateUnchecked(cluster, job, plan, cache);
                                    evaluated++;
                                    if (!e.Fits)
                                    {
                                        rejected++;
                                        if (closest is null || e.Memory.MissingBytes < closest.Memory.MissingBytes) closest = e;
                                        continue;
                                    }
                                    Insert(top, e, topK);
                                }
                }
            }
        }
        PlanEstimate? best = top.Count > 0 ? top[0] : null;
        string? advice = best is null ? Advise(cluster, job, gpus, closest, evaluated) : null;
        return new PlanSearchResult(best, top, evaluated, rejected, best is null ? closest : null, advice);
    }

    private static void Insert(List<PlanEstimate> top, PlanEstimate e, int k)
    {
        if (k <= 0) k = 1;
        if (top.Count == k && e.StepTimeS >= top[^1].StepTimeS) return;
        int i = top.Count;
        while (i > 0 && top[i - 1].StepTimeS > e.StepTimeS) i--;
        top.Insert(i, e);
        if (top.Count > k) top.RemoveAt(top.Count - 1);
    }

    /// <summary>A sentence saying how much memory is missing and what would make the job fit.</summary>
    public static string Advise(ClusterSpec cluster, TrainingJob job, int gpus, PlanEstimate? closest, int evaluated)
    {
        if (closest is null)
            return evaluated == 0
                ? $"no plan of {gpus} GPUs matches the constraints (TP must divide the heads and the GPU count; DP × micro-batch must divide the global batch {job.GlobalBatch})"
                : "no plan fits";
        var mem = closest.Memory;
        double gib = 1L << 30;
        var hints = new List<string>();
        // the model states alone decide how many GPUs are needed with full ZeRO-3 sharding and full recompute
        double states = job.Model.Parameters * (2 + job.GradientBytes + job.OptimizerBytes);
        int needed = (int)Math.Ceiling(states / (0.8 * mem.CapacityBytes));
        if (needed > gpus) hints.Add($"use at least {RoundUp(needed)} GPUs (model states alone are {states / gib:N0} GiB)");
        var bigger = GpuCatalog.All.Where(g => g.HbmBytes > cluster.Gpu.HbmBytes).OrderBy(g => g.HbmBytes).FirstOrDefault();
        if (bigger is not null) hints.Add($"a GPU with more memory (--gpu {bigger.Name}, {bigger.HbmBytes / gib:N0} GiB)");
        if (closest.Plan.Microbatch > 1 || job.GlobalBatch > 1) hints.Add("a smaller --microbatch or --seq-len");
        if (closest.Plan.Recompute != Recompute.Full) hints.Add("--recompute full");
        if (closest.Plan.Zero < 3 && closest.Plan.Dp > 1) hints.Add("--zero 3");
        return $"no plan fits in {mem.CapacityBytes / gib:N1} GiB per GPU: the closest ({closest.Plan}) needs {mem.TotalBytes / gib:N1} GiB, " +
               $"{mem.MissingBytes / gib:N1} GiB missing (weights+grads+optimizer {mem.ModelStateBytes / gib:N1}, activations {mem.ActivationBytes / gib:N1}); " +
               $"try {string.Join(", or ", hints)}";
    }

    private static int RoundUp(int n)
    {
        int p = 8;
        while (p < n) p *= 2;
        return p;
    }

    private static IEnumerable<T> Options<T>(T? fixedValue, IEnumerable<T> all) where T : struct =>
        fixedValue is { } f ? [f] : all;

    /// <summary>The divisors of n in increasing order.</summary>
    public static List<int> Divisors(int n)
    {
        var small = new List<int>();
        var large = new List<int>();
        for (int i = 1; (long)i * i <= n; i++)
        {
            if (n % i != 0) continue;
            small.Add(i);
            if (i != n / i) large.Add(n / i);
        }
        large.Reverse();
        small.AddRange(large);
        return small;
    }
}
