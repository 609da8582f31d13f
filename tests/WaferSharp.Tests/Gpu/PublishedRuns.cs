using WaferSharp.Gpu;

namespace WaferSharp.Tests.Gpu;

/// <summary>The published measurements of /work/shared/reference/gpu-clusters.md §4–5 (Selene, A100 80 GB, seq 2048, vocab 51,200).</summary>
public static class PublishedRuns
{
    public const int Seq = 2048, Vocab = 51200;

    /// <summary>Narayanan et al. 2021, Table 1 (weak scaling; TFLOP/s per GPU counted with full recomputation, Eq. 3).</summary>
    public sealed record NarayananRow(double BillionParams, int Heads, int Hidden, int Layers, int Tp, int Pp, int Dp, int Batch, double TflopsPerGpu);

    public static readonly NarayananRow[] Narayanan =
    [
        new(1.7, 24, 2304, 24, 1, 1, 32, 512, 137),
        new(3.6, 32, 3072, 30, 2, 1, 32, 512, 138),
        new(7.5, 32, 4096, 36, 4, 1, 32, 512, 142),
        new(18.4, 48, 6144, 40, 8, 1, 32, 1024, 135),
        new(39.1, 64, 8192, 48, 8, 2, 32, 1536, 138),
        new(76.1, 80, 10240, 60, 8, 4, 32, 1792, 140),
        new(145.6, 96, 12288, 80, 8, 8, 24, 2304, 148),
        new(310.1, 128, 16384, 96, 8, 16, 15, 2160, 155),
        new(529.6, 128, 20480, 105, 8, 35, 9, 2520, 163),
        new(1008, 160, 25600, 128, 8, 64, 6, 3072, 163),
    ];

    /// <summary>Korthikanti et al. 2022 (DP = 1): Table 5 iteration times, Fig. 1 memory (GiB per GPU).</summary>
    public sealed record KorthikantiRow(string Name, int Heads, int Hidden, int Layers, int Tp, int Pp, int Batch, int Microbatch, int Interleave,
        double FullRecomputeS, double SelectiveSpS, double ModelStateGiB, double ActNoRecomputeGiB, double ActSelectiveSpGiB);

    public static readonly KorthikantiRow[] Korthikanti =
    [
        new("22B", 64, 6144, 48, 8, 1, 4, 4, 1, 1.42, 1.10, 45.56, 59.25, 9.56),
        new("175B", 96, 12288, 96, 8, 8, 64, 1, 3, 18.13, 13.75, 45.56, 66.84, 12.35),
        new("530B", 128, 20480, 105, 8, 35, 280, 1, 3, 49.05, 37.83, 31.64, 114.02, 23.08),
        new("1T", 160, 25600, 128, 8, 64, 512, 1, 1, 94.42, 71.49, 32.96, 131.25, 26.56),
    ];

    /// <summary>Narayanan Eq. 3: hardware FLOPs per iteration with full recomputation.</summary>
    public static double NarayananFlops(int batch, int layers, int hidden) =>
        96.0 * batch * Seq * layers * (double)hidden * hidden * (1 + Seq / (6.0 * hidden) + Vocab / (16.0 * layers * hidden));

    public static ModelProfile Model(int layers, int hidden, int heads) => TransformerProfile.Gpt(layers, hidden, heads, Vocab, Seq);

    public static readonly ClusterSpec Selene = ClusterSpec.Of("a100-80gb");

    /// <summary>
    /// The published Narayanan configuration with its unpublished knobs (micro-batch, interleaving) left to the
    /// planner; Megatron-LM 2021 reduced gradients after backward (no overlap).
    /// </summary>
    public static PlanSearchResult NarayananPlan(NarayananRow r) =>
        Planner.Search(Selene, new TrainingJob { Model = Model(r.Layers, r.Hidden, r.Heads), GlobalBatch = r.Batch, OverlapDpComm = false },
            r.Tp * r.Pp * r.Dp, new PlanConstraints { Tp = r.Tp, Pp = r.Pp, Dp = r.Dp, Zero = 0, Recompute = Recompute.Full, SequenceParallel = false }, topK: 1);

    public static PlanEstimate KorthikantiEstimate(KorthikantiRow r, bool selectiveSp) =>
        TrainingCostModel.Evaluate(Selene, new TrainingJob { Model = Model(r.Layers, r.Hidden, r.Heads), GlobalBatch = r.Batch, OverlapDpComm = false },
            new TrainingPlan(r.Tp, r.Pp, 1, r.Microbatch, r.Interleave, 0, selectiveSp ? Recompute.Selective : Recompute.Full, selectiveSp));
}
