namespace WaferSharp.Gpu;

/// <summary>An inference request: concurrent sequences, prompt and generated lengths, TP degree.</summary>
/// <param name="Gpus">GPUs; Gpus / Tp model replicas share the batch.</param>
/// <param name="Tp">Tensor-parallel degree of one replica.</param>
/// <param name="Batch">Concurrent sequences across all replicas.</param>
/// <param name="PromptLen">Prompt tokens.</param>
/// <param name="NewTokens">Generated tokens.</param>
/// <param name="Precision">GEMM and weight precision (FP8 halves the weight bytes).</param>
public sealed record InferenceJob(int Gpus, int Tp, int Batch, int PromptLen, int NewTokens, Precision Precision = Precision.Bf16);

/// <summary>Predicted inference performance.</summary>
/// <param name="TtftS">Time to first token (the prefill).</param>
/// <param name="TimePerOutputTokenS">Decode step time at the mean context.</param>
/// <param name="TokensPerSPerUser">1 / time per output token.</param>
/// <param name="TokensPerS">Generated tokens per second over all sequences.</param>
/// <param name="MemoryPerGpuBytes">Weights + KV cache + working memory per GPU.</param>
/// <param name="KvCacheBytesPerGpu">KV cache per GPU at the final context.</param>
/// <param name="CapacityBytes">Usable HBM per GPU.</param>
/// <param name="DecodeMemoryBound">Whether decode is limited by HBM bandwidth (rather than FLOPs).</param>
/// <param name="PowerW">Average cluster power, W.</param>
public sealed record InferenceEstimate(double TtftS, double TimePerOutputTokenS, double TokensPerSPerUser, double TokensPerS,
    double MemoryPerGpuBytes, double KvCacheBytesPerGpu, double CapacityBytes, bool DecodeMemoryBound, double PowerW)
{
    /// <summary>Whether weights and KV cache fit.</summary>
    public bool Fits => MemoryPerGpuBytes <= CapacityBytes;
}

/// <summary>
/// Prefill and decode with tensor parallelism: prefill runs the profiled forward pass over the prompt (GEMMs,
/// memory-bound ops, TP all-reduces); each decode step reads every weight and the whole KV cache once, so it is
/// bound by HBM bandwidth unless the batch is large enough to be compute-bound.
/// </summary>
public static class InferenceModel
{
    /// <summary>Predicts a request. <paramref name="prefill"/> is the model profiled at the prompt length.</summary>
    public static InferenceEstimate Estimate(ClusterSpec c, ModelProfile prefill, InferenceJob job)
    {
        if (job.Gpus < 1 || job.Tp < 1 || job.Gpus % job.Tp != 0)
            throw new ArgumentException($"--gpus {job.Gpus} must be a positive multiple of --tp {job.Tp}");
        if (!prefill.AllowsTensorParallel(job.Tp)) throw new ArgumentException($"TP {job.Tp} does not divide the {prefill.Heads} heads of {prefill.Name}");
        if (job.Batch < 1 || job.PromptLen < 1 || job.NewTokens < 1) throw new ArgumentException("--batch, --prompt-len and --new-tokens must be positive");
        int t = job.Tp, replicas = job.Gpus / t;
        int b = (job.Batch + replicas - 1) / replicas; // sequences per replica
        double peak = c.Gpu.PeakFlops(job.Precision);
        double weightBytes = job.Precision == Precision.Fp8 ? 1 : 2;

        // prefill: one forward pass of the prompt
        var layer = TrainingCostModel.OpsTime(c, peak, prefill.LayerOps, b, t, false);
        var pre = TrainingCostModel.OpsTime(c, peak, prefill.PreOps, b, t, false);
        var post = TrainingCostModel.OpsTime(c, peak, prefill.PostOps, b, t, false);
        var (bw, lat) = Collectives.Link(c, t, 1);
        double ar = t == 1 ? 0 : prefill.TpAllReduceBytes.Sum(x => Collectives.AllReduce(x * b, t, bw, lat));
        double ttft = prefill.Layers * (layer.Fwd + ar) + pre.Fwd + post.Fwd;

        // decode at the mean context
        int heads = Math.Max(1, prefill.Heads), kvHeads = prefill.KvHeads > 0 ? prefill.KvHeads : heads;
        double headDim = (double)prefill.Hidden / heads;
        double kvPerToken = 2.0 * prefill.Layers * kvHeads * headDim * 2; // K and V, 16-bit, all layers
        double ctxMean = job.PromptLen + job.NewTokens / 2.0, ctxMax = job.PromptLen + job.NewTokens;
        double weightsPerGpu = prefill.Parameters * weightBytes / t;
        double kvRead = b * ctxMean * kvPerToken / t;
        double flops = (2.0 * prefill.Parameters + 4.0 * prefill.Layers * prefill.Hidden * ctxMean) * b / t;
        double memTime = (weightsPerGpu + kvRead) / (c.Gpu.HbmBandwidth * c.HbmEfficiency);
        double computeTime = flops / (peak * c.GemmEfficiency);
        double arDecode = t == 1 ? 0 : prefill.TpAllReduceBytes.Count * prefill.Layers * Collectives.AllReduce(2.0 * prefill.Hidden * b, t, bw, lat);
        // ~10 kernels per layer (norms, GEMMs, attention, residuals)
        double tpot = Math.Max(memTime, computeTime) + arDecode + 10 * prefill.Layers * c.KernelOverhead;

        double kvCache = b * ctxMax * kvPerToken / t;
        double work = b * (double)job.PromptLen * prefill.Hidden * 2 * 8 / t; // prefill activations in flight (a few layer-widths)
        double memory = weightsPerGpu + kvCache + work;
        double busy = Math.Min(1, Math.Max(memTime, computeTime) / tpot);
        double host = Math.Max(0, c.Gpu.NodePowerWatts / c.GpusPerNode - c.Gpu.TdpWatts);
        double power = job.Gpus * (c.Gpu.TdpWatts * (c.IdlePowerFraction + (1 - c.IdlePowerFraction) * busy) + host);
        return new InferenceEstimate(ttft, tpot, 1 / tpot, job.Batch / tpot, memory, kvCache, c.Gpu.HbmBytes - c.ReservedBytes,
            memTime >= computeTime, power);
    }
}
