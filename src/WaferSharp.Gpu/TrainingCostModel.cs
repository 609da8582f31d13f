namespace WaferSharp.Gpu;

/// <summary>
/// Predicts one training step of a <see cref="TrainingPlan"/> on a <see cref="ClusterSpec"/>: per-op GEMM and
/// memory-bound times summed per pipeline stage, TP collectives per layer, the 1F1B pipeline with its bubble,
/// pipeline point-to-point messages, the data-parallel gradient reduction (and ZeRO traffic), the optimizer update,
/// and the memory of the fullest GPU. Nothing overlaps except what is stated (the DP reduction with backward).
/// </summary>
public static class TrainingCostModel
{
    private const double E = 2; // bytes per 16-bit element (weights, activations, pipeline messages)

    /// <summary>Time of one GEMM [m×k]·[k×n] × batch: the larger of the tensor-core time (with wave quantization) and the HBM time, plus a kernel overhead.</summary>
    public static double GemmTime(ClusterSpec c, double peak, double m, double k, double n, double batch)
    {
        double flops = 2 * m * k * n * batch;
        double bytes = E * (m * k + k * n + m * n) * batch;
        double tile = c.GemmTile;
        double tiles = Math.Ceiling(m / tile) * Math.Ceiling(n / tile) * batch;
        double waves = Math.Ceiling(tiles / c.Gpu.Sms);
        double waveEff = tiles / (waves * c.Gpu.Sms);
        double compute = flops / (peak * c.GemmEfficiency * waveEff);
        double memory = bytes / (c.Gpu.HbmBandwidth * c.HbmEfficiency);
        return Math.Max(compute, memory) + c.KernelOverhead;
    }

    /// <summary>Time of a memory-bound op moving <paramref name="bytes"/>.</summary>
    public static double MemoryTime(ClusterSpec c, double bytes) => bytes / (c.Gpu.HbmBandwidth * c.HbmEfficiency) + c.KernelOverhead;

    /// <summary>Forward, backward and quadratic (selective-recompute) time of a list of ops at micro-batch b and TP t.</summary>
    internal static (double Fwd, double Bwd, double Quad) OpsTime(ClusterSpec c, double peak, IReadOnlyList<LayerOp> ops, int b, int t, bool sp)
    {
        double fwd = 0, bwd = 0, quad = 0;
        foreach (var o in ops)
        {
            double f, bk;
            if (o.IsGemm)
            {
                double m = o.M, k = o.K, n = o.N, batch = o.Batch;
                if (o.PerHead) batch *= b; else m *= b;
                switch (o.Split)
                {
                    case TpSplit.N: n /= t; break;
                    case TpSplit.K: k /= t; break;
                    case TpSplit.Batch: batch /= t; break;
                }
                f = GemmTime(c, peak, m, k, n, batch);
                // backward: dX = dY·Wᵀ [m×n]·[n×k] and dW = Xᵀ·dY [k×m]·[m×n]
                bk = GemmTime(c, peak, m, n, k, batch) + GemmTime(c, peak, k, m, n, batch);
            }
            else
            {
                double bytes = o.Bytes * b;
                if (o.Split != TpSplit.Replicated || sp) bytes /= t;
                f = MemoryTime(c, bytes);
                bk = MemoryTime(c, 2 * bytes); // read the saved input and the incoming gradient, write the gradient
            }
            fwd += f;
            bwd += bk;
            if (o.Quadratic) quad += f;
        }
        return (fwd, bwd, quad);
    }

    /// <summary>Predicts a plan. Throws <see cref="ArgumentException"/> for a plan that is not well formed (use <see cref="Validate"/> to check first).</summary>
    public static PlanEstimate Evaluate(ClusterSpec c, TrainingJob job, TrainingPlan plan)
    {
        string? err = Validate(job, plan);
        if (err is not null) throw new ArgumentException(err);
        return EvaluateUnchecked(c, job, plan, null);
    }

    /// <summary>Why a plan cannot run this job at all (null if it can), regardless of memory.</summary>
    public static string? Validate(TrainingJob job, TrainingPlan p)
    {
        var m = job.Model;
        if (p.Tp < 1 || p.Pp < 1 || p.Dp < 1 || p.Microbatch < 1 || p.Interleave < 1)
            return $"degrees must be positive (plan {p})";
        if (p.Zero is < 0 or > 3) return $"ZeRO stage must be 0..3, got {p.Zero}";
        if (!m.AllowsTensorParallel(p.Tp)) return $"TP {p.Tp} does not divide the {m.Heads} attention heads of {m.Name}";
        if (p.SequenceParallel && p.Tp == 1) return "sequence parallelism needs TP > 1";
        if (p.Pp * p.Interleave > m.Layers) return $"PP {p.Pp} × interleave {p.Interleave} exceeds the {m.Layers} layers of {m.Name}";
        if (p.Interleave > 1 && m.Layers % (p.Pp * p.Interleave) != 0)
            return $"interleaving needs the {m.Layers} layers divisible by PP × interleave = {p.Pp * p.Interleave}";
        if (job.GlobalBatch % (p.Dp * p.Microbatch) != 0)
            return $"global batch {job.GlobalBatch} is not a multiple of DP {p.Dp} × micro-batch {p.Microbatch}";
        int micro = job.GlobalBatch / (p.Dp * p.Microbatch);
        if (p.Interleave > 1 && micro % p.Pp != 0)
            return $"interleaving needs the {micro} micro-batches per pipeline to be a multiple of PP {p.Pp}";
        return null;
    }

    internal sealed class LayerCache
    {
        public readonly Dictionary<(int B, int T, bool Sp), (double Fwd, double Bwd, double Quad, double TpAr)> Layer = new();
        public readonly Dictionary<(int B, int T, bool Sp), (double PreF, double PreB, double PostF, double PostB)> Ends = new();
    }

    internal static PlanEstimate EvaluateUnchecked(ClusterSpec c, TrainingJob job, TrainingPlan p, LayerCache? cache)
    {
        var model = job.Model;
        double peak = c.Gpu.PeakFlops(job.Precision);
        int t = p.Tp, pp = p.Pp, d = p.Dp, b = p.Microbatch, v = p.Interleave;
        bool sp = p.SequenceParallel;
        int m = job.GlobalBatch / (d * b);

        // one layer, one micro-batch
        var key = (b, t, sp);
        (double Fwd, double Bwd, double Quad, double TpAr) layer;
        if (cache is null || !cache.Layer.TryGetValue(key, out layer))
        {
            var (f, bk, q) = OpsTime(c, peak, model.LayerOps, b, t, sp);
            double ar = 0;
            if (t > 1)
            {
                var (bw, lat) = Collectives.Link(c, t, 1);
                // an all-reduce, or with SP a reduce-scatter + all-gather of the same total volume
                foreach (double bytes in model.TpAllReduceBytes)
                    ar += sp ? 2 * Collectives.ReduceScatter(bytes * b, t, bw, lat) : Collectives.AllReduce(bytes * b, t, bw, lat);
            }
            layer = (f, bk, q, ar);
            cache?.Layer.Add(key, layer);
        }
        (double PreF, double PreB, double PostF, double PostB) ends;
        if (cache is null || !cache.Ends.TryGetValue(key, out ends))
        {
            var pre = OpsTime(c, peak, model.PreOps, b, t, sp);
            var post = OpsTime(c, peak, model.PostOps, b, t, sp);
            ends = (pre.Fwd, pre.Bwd, post.Fwd, post.Bwd);
            cache?.Ends.Add(key, ends);
        }

        // per layer per micro-batch: compute, recompute and TP communication (2 collectives forward, 2 backward, and
        // the forward ones again under full recomputation)
        double layerCompute = layer.Fwd + layer.Bwd;
        double layerRecompute = p.Recompute switch { Recompute.Full => layer.Fwd, Recompute.Selective => layer.Quad, _ => 0 };
        double layerTp = layer.TpAr * (p.Recompute == Recompute.Full ? 3 : 2);

        int maxLayers = (model.Layers + pp - 1) / pp;
        double endsFirst = ends.PreF + ends.PreB, endsLast = ends.PostF + ends.PostB;
        if (pp == 1) { endsFirst += endsLast; endsLast = endsFirst; }
        double stageCore = maxLayers * (layerCompute + layerRecompute + layerTp);
        double slowest = stageCore + Math.Max(endsFirst, endsLast);
        double mean = (double)model.Layers / pp * (layerCompute + layerRecompute + layerTp) + (ends.PreF + ends.PreB + ends.PostF + ends.PostB) / pp;

        // pipeline messages: the layer output (÷TP: scatter/gather, or already split by SP), forward and backward,
        // once per virtual stage boundary
        double ppComm = 0;
        if (pp > 1)
        {
            var (bw, lat) = Collectives.Link(c, pp, t * d);
            ppComm = m * 2 * v * Collectives.PointToPoint(model.LayerInputBytes * b / t, bw, lat);
        }
        double bubble = (pp - 1) / (double)v * mean;

        // data-parallel traffic over the local (TP- and PP-split) parameters of the largest stage
        double stageParams = StageParams(model, p) / t;
        double dpComm = 0, dpWindow = 0;
        if (d > 1)
        {
            var (bw, lat) = Collectives.Link(c, d, t);
            double grads = stageParams * job.GradientBytes, weights = stageParams * E;
            double rs = Collectives.ReduceScatter(grads, d, bw, lat), ag = Collectives.AllGather(weights, d, bw, lat);
            double stageBwd = maxLayers * (layer.Bwd + layerRecompute);
            double stageFwd = maxLayers * layer.Fwd;
            (dpComm, dpWindow) = p.Zero switch
            {
                0 => (Collectives.AllReduce(grads, d, bw, lat), stageBwd),  // after the last micro-batch's backward
                1 => (rs + ag, stageBwd),
                2 => (m * rs + ag, m * stageBwd),                           // gradients are sharded: reduce every micro-batch
                _ => (m * (rs + 2 * ag), m * (stageBwd + stageFwd)),        // parameters gathered for forward and backward
            };
        }
        double dpExposed = job.OverlapDpComm ? Math.Max(0, dpComm - dpWindow) : dpComm;

        // Adam: read FP32 grads, master weights, m, v; write master, m, v and the 16-bit weights
        double optParams = p.Zero >= 1 ? stageParams / d : stageParams;
        double optimizer = MemoryTime(c, optParams * (job.GradientBytes + 2 * job.OptimizerBytes + E));

        double computeS = m * (maxLayers * layerCompute + Math.Max(endsFirst, endsLast));
        double recomputeS = m * maxLayers * layerRecompute;
        double tpS = m * maxLayers * layerTp;
        double step = computeS + recomputeS + tpS + ppComm + bubble + dpExposed + optimizer;
        var breakdown = new StepBreakdown(computeS, recomputeS, tpS, ppComm, bubble, dpExposed, optimizer);

        var memory = Memory(c, job, p, m);
        int gpus = p.Gpus;
        double modelFlops = model.ModelFlopsPerSample * job.GlobalBatch;
        double extra = p.Recompute switch
        {
            Recompute.Full => model.Layers * model.LayerFlops,
            Recompute.Selective => model.Layers * model.LayerOps.Where(o => o.Quadratic).Sum(o => o.Flops),
            _ => 0,
        } * job.GlobalBatch;
        double modelTf = modelFlops / (step * gpus);
        double hwTf = (modelFlops + extra) / (step * gpus);
        double busy = (computeS + recomputeS) / step;
        double host = Math.Max(0, c.Gpu.NodePowerWatts / c.GpusPerNode - c.Gpu.TdpWatts);
        double power = gpus * (c.Gpu.TdpWatts * (c.IdlePowerFraction + (1 - c.IdlePowerFraction) * busy) + host);
        double tokens = (double)job.GlobalBatch * model.SeqLen / step;
        return new PlanEstimate(p, step, breakdown, memory, tokens, modelTf / 1e12, hwTf / 1e12, modelTf / peak, hwTf / peak, power, m);
    }

    /// <summary>Parameters on the largest pipeline stage (before TP): its layers plus the embedding or the head.</summary>
    public static double StageParams(ModelProfile model, TrainingPlan p)
    {
        int maxLayers = (model.Layers + p.Pp - 1) / p.Pp;
        double layers = (double)maxLayers * model.ParamsPerLayer;
        if (p.Pp == 1) return layers + model.PreParams + model.PostParams;
        // the last stage holds the output head: a copy of the tied embedding, or its own weight
        double head = model.PostParams + (model.TiedEmbeddings ? model.PreParams : 0);
        return layers + Math.Max(model.PreParams, head);
    }

    /// <summary>Memory of the fullest GPU (the first stage, which keeps the most micro-batches in flight, or the last with the logits).</summary>
    public static MemoryBreakdown Memory(ClusterSpec c, TrainingJob job, TrainingPlan p, int microbatches)
    {
        var model = job.Model;
        int t = p.Tp, d = p.Dp, b = p.Microbatch, pp = p.Pp, v = p.Interleave;
        double psi = StageParams(model, p) / t;
        double weights = E * psi, grads = job.GradientBytes * psi, opt = job.OptimizerBytes * psi;
        if (p.Zero >= 1) opt /= d;
        if (p.Zero >= 2) grads /= d;
        if (p.Zero >= 3) weights /= d;

        double seqSplit = p.SequenceParallel ? t : 1;
        double full = model.ActReplicated / seqSplit + model.ActSharded / t + model.ActQuadratic / t;
        double perLayer = p.Recompute switch
        {
            Recompute.None => full,
            Recompute.Selective => model.ActReplicated / seqSplit + model.ActSharded / t,
            _ => model.LayerInputBytes / seqSplit,
        } * b;
        // 1F1B: the first stage keeps min(m, p) micro-batches of its L/p layers ≈ L layers' worth; interleaving
        // raises this by (1 + (p−1)/(p·v)) [Korthikanti et al. 2022, §4.2.3]
        int maxLayers = (model.Layers + pp - 1) / pp;
        double inFlight = Math.Min(microbatches, pp);
        double act = perLayer * maxLayers * inFlight;
        if (v > 1) act *= 1 + (pp - 1) / (double)(pp * v);
        // working set: one layer's full activations while it is recomputed
        if (p.Recompute == Recompute.Full) act += full * b;
        else if (p.Recompute == Recompute.Selective) act += model.ActQuadratic / t * b;

        double other = 0;
        // logits (16-bit) and FP32 softmax of the vocab-parallel loss on the last stage
        if (model.Vocab > 0) other += b * (double)model.SeqLen * model.Vocab / t * (E + 4);
        // ZeRO-3 gathers a layer's parameters (and prefetches the next)
        if (p.Zero >= 3) other += 2 * E * model.ParamsPerLayer / t;
        return new MemoryBreakdown(weights, grads, opt, act, other, c.Gpu.HbmBytes - c.ReservedBytes);
    }
}
