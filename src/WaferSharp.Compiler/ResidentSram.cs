using System.Text.Json.Serialization;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Graph;

namespace WaferSharp.Compiler;

/// <summary>
/// What stays in one region's SRAM for the whole step in layer-pipelined mode, by kind, in bytes for the whole region
/// (divide by its PEs for the per-PE plan). See <see cref="ResidentSram"/> for the accounting rules.
/// </summary>
public sealed class ResidentBytes
{
    /// <summary>Weights at the compute precision (what the kernels read; in fp32 training these are the master weights).</summary>
    public long Weights { get; set; }
    /// <summary>Training with 16-bit compute: the fp32 master copy the optimizer updates.</summary>
    public long Master { get; set; }
    /// <summary>Training: optimizer state (Adam's first and second moments, fp32).</summary>
    public long OptimizerState { get; set; }
    /// <summary>Training with more than one micro-batch: fp32 weight-gradient accumulators (summed over the step's micro-batches).</summary>
    public long GradientAccumulators { get; set; }
    /// <summary>Training: forward activations kept for the backward, for every micro-batch in flight at this stage.</summary>
    public long Stash { get; set; }
    /// <summary>Micro-batches whose activations this region holds at once (1F1B-like: min(m, S − stage)).</summary>
    public int StashMicrobatches { get; set; }
    /// <summary>Inference: the KV cache of every sequence.</summary>
    public long KvCache { get; set; }
    /// <summary>All of it.</summary>
    [JsonIgnore] public long Total => Weights + Master + OptimizerState + GradientAccumulators + Stash + KvCache;

    /// <summary>Adds another breakdown (for totals).</summary>
    public void Add(ResidentBytes o)
    {
        Weights += o.Weights; Master += o.Master; OptimizerState += o.OptimizerState;
        GradientAccumulators += o.GradientAccumulators; Stash += o.Stash; KvCache += o.KvCache;
        StashMicrobatches = Math.Max(StashMicrobatches, o.StashMicrobatches);
    }

    /// <summary>One line: the non-zero kinds and the total.</summary>
    public string Describe(string precision)
    {
        var parts = new List<string>();
        if (Weights > 0) parts.Add($"weights {Units.Bytes(Weights)} ({precision})");
        if (Master > 0) parts.Add($"fp32 master weights {Units.Bytes(Master)}");
        if (OptimizerState > 0) parts.Add($"optimizer state {Units.Bytes(OptimizerState)}");
        if (GradientAccumulators > 0) parts.Add($"gradient accumulators {Units.Bytes(GradientAccumulators)}");
        if (Stash > 0) parts.Add($"stashed activations {Units.Bytes(Stash)} (up to {StashMicrobatches} micro-batch{(StashMicrobatches > 1 ? "es" : "")} in flight)");
        if (KvCache > 0) parts.Add($"KV cache {Units.Bytes(KvCache)}");
        return $"{string.Join(" + ", parts)} = {Units.Bytes(Total)}";
    }
}

/// <summary>
/// The resident-SRAM accounting of layer-pipelined mode. Per parameter element in training: the weight at the compute
/// precision (2 B in bf16/fp16) + the fp32 master copy (4 B; none in fp32, where the weight is the master) + the
/// optimizer state the graph carries (Adam: m and v, 8 B) + an fp32 gradient accumulator (4 B) only when the step has
/// more than one micro-batch: with one micro-batch the weight-gradient kernel's output tile (its fp32 accumulator,
/// counted in its working set) is consumed in place by the fused optimizer update, so no whole gradient is stored.
/// bf16 Adam training is therefore 14 B per parameter at one micro-batch, 18 B with several. Stashed activations: each
/// forward value a backward kernel reads is kept once (in the region of its first backward reader; later readers get
/// it over their route), for the micro-batches in flight at that stage: in a 1F1B-like pipeline of S stages, stage s
/// (0-based, in topological order) holds min(m, S − s) micro-batches, since a micro-batch's backward reaches stage s
/// after it has gone through the S − s − 1 stages downstream and back. Inference: weights at the compute precision and
/// the KV cache of every sequence.
/// </summary>
public static class ResidentSram
{
    /// <summary>The resident bytes of each group (placement groups in pipeline order) for <paramref name="microbatches"/> micro-batches per step.</summary>
    public static ResidentBytes[] Plan(LoweredGraph lg, int[] groupOf, int groups, int microbatches, CostParams p, bool inference)
    {
        var r = new ResidentBytes[groups];
        for (int gi = 0; gi < groups; gi++) r[gi] = new ResidentBytes();
        bool training = lg.IsTraining && !inference;
        var seenParam = new HashSet<Value>();
        var seenState = new HashSet<Value>();
        foreach (var t in lg.Tasks)
        {
            var g = r[groupOf[t.Id]];
            foreach (var pv in t.Params)
            {
                if (!seenParam.Add(pv)) continue;
                g.Weights += p.Bytes(pv.Type);
                if (!training) continue;
                if (p.ElementBytes < p.MasterBytes) g.Master += pv.Type.Numel * (long)p.MasterBytes;
                if (microbatches > 1) g.GradientAccumulators += pv.Type.Numel * (long)p.MasterBytes;
            }
            if (training)
                foreach (var sv in t.States)
                    if (seenState.Add(sv)) g.OptimizerState += sv.Type.Numel * (long)p.MasterBytes;
            if (inference && t.Kernel is AttentionKernel)
                g.KvCache += (p.Bytes(t.Nodes[0].Inputs[1].Type) + p.Bytes(t.Nodes[^1].Inputs[1].Type)) * (long)microbatches; // every sequence's K and V
        }
        if (!training) return r;

        // each stashed value once, where its first backward reader runs (tasks are in topological order)
        var stashAt = new Dictionary<Value, (int Group, long Bytes)>();
        foreach (var e in lg.Edges)
            if (lg.Tasks[e.From].Phase == Phase.Forward && lg.Tasks[e.To].Phase == Phase.Backward && !stashAt.ContainsKey(e.Value))
                stashAt[e.Value] = (groupOf[e.To], e.Bytes);
        for (int gi = 0; gi < groups; gi++) r[gi].StashMicrobatches = InFlight(gi, groups, microbatches);
        foreach (var (gi, bytes) in stashAt.Values) r[gi].Stash += bytes * r[gi].StashMicrobatches;
        return r;
    }

    /// <summary>Micro-batches in flight at stage <paramref name="stage"/> of <paramref name="stages"/> (1F1B): min(m, S − s).</summary>
    public static int InFlight(int stage, int stages, int microbatches) => Math.Max(1, Math.Min(microbatches, stages - stage));
}
