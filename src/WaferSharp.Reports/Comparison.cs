using System.Diagnostics;
using System.Globalization;
using WaferSharp.Compiler;
using WaferSharp.Gpu;
using WaferSharp.Hardware;
using GpuCluster = WaferSharp.Gpu.ClusterSpec;
using GpuPrecision = WaferSharp.Gpu.Precision;

namespace WaferSharp.Reports;

/// <summary>
/// Wafer systems vs GPUs for a fixed training goal: each wafer system count is compiled by the graph compiler
/// (mode auto, data parallel over systems), each GPU count is planned by the GPU planner's search; both give a step
/// time and tokens per step, from which follow time to goal = goal / tokens_per_step × step_time, cost =
/// device-hours × price and energy = power × time × PUE. Configurations that do not fit stay in the result with
/// the reason.
/// </summary>
public static class Comparison
{
    private static string F(double x, string f = "0.##") => x.ToString(f, CultureInfo.InvariantCulture);

    /// <summary>Runs the comparison.</summary>
    public static CompareResult Run(CompareModel model, ComparisonOptions o)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(o);
        if (!(o.GoalTokens > 0) || double.IsInfinity(o.GoalTokens)) throw new ArgumentException($"--tokens must be a positive number, got {o.GoalTokens}");
        if (o.GlobalBatch is < 1) throw new ArgumentException($"--global-batch must be positive, got {o.GlobalBatch}");
        if (o.Systems.Count + o.Gpus.Count == 0) throw new ArgumentException("give at least one --systems or --gpus count");
        if (o.Systems.Any(n => n < 1 || n > 2048)) throw new ArgumentException("--systems counts must be in 1..2048");
        if (o.Gpus.Any(n => n < 1)) throw new ArgumentException("--gpus counts must be positive");
        if (o.Pue < 1) throw new ArgumentException($"--pue must be at least 1 (facility energy / IT energy), got {o.Pue}");
        if (o.PriceWaferHour is < 0 || o.PriceGpuHour is < 0) throw new ArgumentException("prices must not be negative");
        var sw = Stopwatch.StartNew();
        var gpuCluster = GpuCluster.Of(o.Gpu) with { PricePerGpuHour = o.PriceGpuHour };
        int refBatch = o.GlobalBatch ?? BatchPolicy.ReferenceBatch(model.Parameters, model.SeqLen);
        var r = new CompareResult
        {
            Model = model.Name, Parameters = model.Parameters, GoalTokens = o.GoalTokens, GoalUnit = model.SeqLen is null ? "samples" : "tokens",
            SeqLen = model.SeqLen, ReferenceBatch = refBatch, BatchFixedByUser = o.GlobalBatch is not null, Wafer = o.Wafer.Name, Gpu = gpuCluster.Gpu.Name,
        };
        foreach (int n in o.Systems) r.Configs.Add(WaferTraining(model, o, n, refBatch));
        if (o.Gpus.Count > 0)
        {
            var profile = model.Profile(model.TokensPerSample);
            foreach (int n in o.Gpus) r.Configs.Add(GpuTraining(profile, gpuCluster, o, n, refBatch));
        }
        if (o.Inference is { } inf)
        {
            if (model.InferenceSource is null || model.SeqLen is null)
                throw new ArgumentException($"--inference needs a language model (tokens in, tokens out); {model.Name} has no sequence");
            if (inf.PromptLen < 1 || inf.NewTokens < 1 || inf.Batch < 1) throw new ArgumentException("--prompt-len, --new-tokens and --batch must be positive");
            r.InferenceRequest = inf;
            foreach (int n in o.Systems) r.Inference.Add(WaferInference(model, o, n, inf));
            if (o.Gpus.Count > 0)
            {
                var prefill = model.Profile(inf.PromptLen);
                foreach (int n in o.Gpus) r.Inference.Add(GpuInference(prefill, gpuCluster, o, n, inf));
            }
        }
        r.BatchNote = BatchNote(r);
        r.Assumptions = Assumptions(model, o, gpuCluster, refBatch);
        r.Verdict = Verdict.Write(r);
        r.ElapsedS = sw.Elapsed.TotalSeconds;
        return r;
    }

    // ---- wafer training ---------------------------------------------------------------------------------------

    private static WaferProgram CompileTrain(CompareModel m, ComparisonOptions o, int systems, int batch) =>
        WaferCompiler.Compile(m.TrainSource(batch), new CompileOptions { Wafer = o.Wafer, Systems = systems, Mode = ExecutionMode.Auto, SeqLen = m.SeqLen }, inference: false);

    private static TrainingConfig WaferTraining(CompareModel m, ComparisonOptions o, int n, int refBatch)
    {
        var sys = SystemSpec.For(o.Wafer);
        var c = new TrainingConfig { Kind = "wafer", Device = o.Wafer.Name, Count = n, PricePerDeviceHour = o.PriceWaferHour ?? CostDefaults.WaferPricePerSystemHour };
        var probe = m.TrainSource(1);
        int batch = o.GlobalBatch ?? BatchPolicy.RoundUp(refBatch, n);
        if (!probe.Rebatchable) batch = probe.BatchSize;
        c.GlobalBatch = batch;
        c.TokensPerStep = (double)batch * m.TokensPerSample;
        if (batch % n != 0)
            return NoFit(c, $"the global batch {batch} is not a multiple of {n} systems (each system takes an equal share)");
        if (o.GlobalBatch is null && batch != refBatch)
            c.Notes.Add($"global batch rounded up from {refBatch} to {batch}, a multiple of {n} systems");

        // the largest micro-batch per system that fits; the rest of the system's share is gradient accumulation
        int per = batch / n;
        WaferProgram? prog = null;
        int micro = per;
        string reason = "";
        if (!probe.Rebatchable)
        {
            try { prog = CompileTrain(m, o, n, batch); }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException) { reason = e.Message; }
        }
        else
        {
            var divisors = Planner.Divisors(per);
            int tries = 0;
            for (int i = divisors.Count - 1; i >= 0 && tries < 14; i--)
            {
                int d = divisors[i];
                if (tries > 0 && d > micro / 2) continue; // after a failure, at least halve
                tries++;
                micro = d;
                try { prog = CompileTrain(m, o, n, d * n); break; }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException) { reason = e.Message; }
            }
        }
        if (prog is null) return NoFit(c, $"no micro-batch per system fits: {reason}");
        if (micro < per && per > 0) c.Notes.Add($"per-system micro-batch {micro} fits ({per} does not): {per / micro} accumulation steps per optimizer step");

        // the wafer's own batch: weight streaming pays the weights' I/O once per step, so when that I/O dominates a
        // larger batch (up to 4× the reference) is the wafer's natural choice
        if (o.GlobalBatch is null && probe.Rebatchable && micro == per)
        {
            while (IoBound(prog) && batch * 2 <= 4 * refBatch)
            {
                WaferProgram next;
                try { next = CompileTrain(m, o, n, batch * 2); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException) { break; }
                if (next.SamplesPerS <= prog.SamplesPerS * 1.05) break;
                c.Notes.Add($"weight streaming was I/O-bound at batch {batch} ({prog.Bottleneck}); the wafer plan doubles it to {batch * 2}");
                batch *= 2; per *= 2; micro = per; prog = next;
            }
        }
        int accum = per / micro;
        c.GlobalBatch = batch;
        c.TokensPerStep = (double)batch * m.TokensPerSample;
        c.Program = prog;
        c.Fits = true;
        c.StepTimeS = accum * prog.StepTimeS;
        c.Utilization = prog.Utilization;
        c.Bottleneck = prog.Bottleneck;
        c.Breakdown = WaferBreakdown(prog).Scale(accum);
        c.PowerKw = n * (o.WaferSystemPowerW ?? sys.PowerWatts) / 1000;
        bool ws = prog.Mode == "weight-streaming";
        c.PlanDetail = new Dictionary<string, object>
        {
            ["mode"] = prog.Mode, ["systems"] = n, ["micro_batch_per_system"] = micro, ["accumulation_steps"] = accum,
            ["pipeline_microbatches"] = prog.Schedule.Microbatches, ["recompute_segments"] = prog.Schedule.RecomputeSegments,
        };
        c.Plan = $"{prog.Mode}, {n} system{(n > 1 ? "s (data parallel)" : "")}, micro-batch {micro}/system" +
                 (accum > 1 ? $" × {accum} accumulation" : "") +
                 (!ws && prog.Schedule.Microbatches > 1 ? $", {prog.Schedule.Microbatches} pipeline micro-batches" : "") +
                 (prog.Schedule.RecomputeSegments > 1 ? $", recompute ({prog.Schedule.RecomputeSegments} segments)" : "");
        c.Burden = WaferBurden(n, ws, accum, prog.Schedule.RecomputeSegments, ws ? 1 : prog.Schedule.Microbatches);
        c.Notes.Add(prog.ModeReason);
        return Finish(c, o);
    }

    private static bool IoBound(WaferProgram p) => p.Bottleneck.StartsWith("weight streaming I/O", StringComparison.Ordinal);

    /// <summary>
    /// Where a compiled step's time goes, from the program's kernels. Weight streaming runs kernels one after another:
    /// each kernel's time is split into arithmetic, fabric communication and fixed latency, and streaming its weights
    /// beyond that counts as weight I/O; the rest of the step (recomputation, broadcast/reduce tree) is compute and
    /// communication. Layer-pipelined: m micro-batches at the steady period are busy time (split like the kernels);
    /// the remainder of the step is pipeline fill and drain.
    /// </summary>
    public static TimeBreakdown WaferBreakdown(WaferProgram p)
    {
        ArgumentNullException.ThrowIfNull(p);
        double clock = p.CostModel.ClockHz > 0 ? p.CostModel.ClockHz : p.StepCycles / Math.Max(1e-30, p.StepTimeS);
        double step = p.StepTimeS;
        double comp = 0, comm = 0, fixd = 0;
        foreach (var k in p.Kernels)
        {
            if (k.Phase == "optimizer" && p.Mode == "weight-streaming") continue;
            comp += k.ComputeCycles; comm += k.CommCycles; fixd += k.FixedCycles;
        }
        if (p.Mode == "weight-streaming")
        {
            double io = 0, basisTotal = 0;
            foreach (var k in p.Kernels)
            {
                if (k.Phase == "optimizer") continue;
                double basis = k.ComputeCycles + k.CommCycles + k.FixedCycles;
                basisTotal += Math.Min(basis, k.Cycles);
                io += Math.Max(0, k.Cycles - basis);
            }
            // kernels' own time split by their compute/comm/fixed shares; the remainder of the step (recomputation
            // and the broadcast/reduce tree) counted as compute
            double share = comp + comm + fixd;
            double kernelS = basisTotal / clock, ioS = io / clock;
            double rest = Math.Max(0, step - kernelS - ioS);
            double scale = share > 0 ? kernelS / share : 0;
            var b = new TimeBreakdown(comp * scale + rest, comm * scale, 0, ioS, fixd * scale);
            return Normalize(b, step);
        }
        double steady = p.Regions.Count == 0 ? 0 : p.Regions.Max(x => x.StageCycles);
        steady = Math.Max(steady, p.LinkLoadMax);
        double busy = Math.Min(step, p.Schedule.Microbatches * steady / clock);
        double bubble = step - busy;
        double tot = comp + comm + fixd;
        var pb = tot > 0
            ? new TimeBreakdown(busy * comp / tot, busy * comm / tot, bubble, 0, busy * fixd / tot)
            : new TimeBreakdown(busy, 0, bubble, 0, 0);
        return Normalize(pb, step);
    }

    private static TimeBreakdown Normalize(TimeBreakdown b, double step)
    {
        double t = b.TotalS;
        return t > 0 ? b.Scale(step / t) : new TimeBreakdown(step, 0, 0, 0, 0);
    }

    private static ParallelismBurden WaferBurden(int n, bool ws, int accum, int recompute, int pipeMicro)
    {
        var items = new List<string>();
        int dims = 0, knobs = 0;
        if (n > 1) { items.Add($"data parallel over {n} systems"); dims++; }
        if (ws) { items.Add("weight streaming (weights in external memory)"); knobs++; }
        if (accum > 1) { items.Add($"gradient accumulation ×{accum}"); knobs++; }
        if (recompute > 1) { items.Add("activation recomputation"); knobs++; }
        if (pipeMicro > 1) { items.Add($"{pipeMicro} pipeline micro-batches"); knobs++; }
        string expl = items.Count == 0
            ? "one system, layer-pipelined: nothing to partition or tune — the compiler places every layer on the wafer"
            : $"{dims} parallel dimension{(dims == 1 ? "" : "s")} and {knobs} knob{(knobs == 1 ? "" : "s")}: {string.Join(", ", items)}; the model itself is never split across devices";
        return new ParallelismBurden(dims, knobs, items, expl);
    }

    // ---- GPU training -----------------------------------------------------------------------------------------

    private static TrainingConfig GpuTraining(ModelProfile profile, GpuCluster cluster, ComparisonOptions o, int n, int refBatch)
    {
        var c = new TrainingConfig { Kind = "gpu", Device = cluster.Gpu.Name, Count = n, PricePerDeviceHour = cluster.Price };
        int batch = o.GlobalBatch ?? refBatch;
        var job = new TrainingJob { Model = profile, GlobalBatch = batch, Precision = GpuPrecision.Bf16 };
        var res = Planner.Search(cluster, job, n, null, 3);
        if (res.Best is null && res.Evaluated == 0 && o.GlobalBatch is null)
        {
            // no TP × PP leaves a data-parallel degree dividing the batch: the GPU side rounds its batch up, first to
            // a multiple of n/8 (one node of model parallelism), else of n
            int b2 = n >= 8 && n % 8 == 0 ? BatchPolicy.RoundUp(batch, n / 8) : BatchPolicy.RoundUp(batch, n);
            if (b2 == batch) b2 = BatchPolicy.RoundUp(batch, n);
            var job2 = job with { GlobalBatch = b2 };
            var res2 = Planner.Search(cluster, job2, n, null, 3);
            if (res2.Evaluated > 0)
            {
                c.Notes.Add($"global batch rounded up from {batch} to {b2} so that a data-parallel degree of {n} GPUs divides it");
                batch = b2; job = job2; res = res2;
            }
        }
        c.GlobalBatch = batch;
        c.TokensPerStep = (double)batch * profile.SeqLen;
        c.Notes.Add($"{res.Evaluated:N0} plans evaluated, {res.Rejected:N0} did not fit in memory");
        var e = res.Best ?? res.ClosestMiss;
        if (e is not null) Describe(c, e);
        if (res.Best is null) return NoFit(c, res.Advice ?? "no plan fits");
        var best = res.Best;
        c.Fits = true;
        c.StepTimeS = best.StepTimeS;
        c.Utilization = best.Mfu;
        c.PowerKw = best.PowerW / 1000;
        var bd = best.Breakdown;
        c.Breakdown = new TimeBreakdown(bd.ComputeS + bd.RecomputeS + bd.OptimizerS, bd.TpCommS + bd.PpCommS + bd.DpCommS, bd.PpBubbleS, 0, 0);
        var parts = new (string Name, double S)[] { ("compute", bd.ComputeS + bd.RecomputeS), ("TP communication", bd.TpCommS), ("pipeline bubble", bd.PpBubbleS), ("PP communication", bd.PpCommS), ("DP communication", bd.DpCommS), ("optimizer", bd.OptimizerS) };
        var top = parts.Where(x => x.Name != "compute").OrderByDescending(x => x.S).First();
        c.Bottleneck = top.S > 0.1 * best.StepTimeS
            ? $"{top.Name} ({F(top.S / best.StepTimeS * 100, "0")}% of the step); compute {F((bd.ComputeS + bd.RecomputeS) / best.StepTimeS * 100, "0")}%"
            : $"GEMMs at {F(best.Mfu * 100, "0")}% MFU (compute {F((bd.ComputeS + bd.RecomputeS) / best.StepTimeS * 100, "0")}% of the step)";
        return Finish(c, o);
    }

    private static void Describe(TrainingConfig c, PlanEstimate e)
    {
        var p = e.Plan;
        c.Plan = p.ToString() + $", {e.Microbatches} micro-batch{(e.Microbatches == 1 ? "" : "es")}";
        c.PlanDetail = new Dictionary<string, object>
        {
            ["tp"] = p.Tp, ["pp"] = p.Pp, ["dp"] = p.Dp, ["interleave"] = p.Interleave, ["microbatch"] = p.Microbatch,
            ["microbatches"] = e.Microbatches, ["zero"] = p.Zero, ["recompute"] = p.Recompute.ToString().ToLowerInvariant(),
            ["sequence_parallel"] = p.SequenceParallel, ["memory_gib"] = e.Memory.TotalBytes / (1L << 30),
        };
        var items = new List<string>();
        int dims = 0, knobs = 0;
        if (p.Tp > 1) { items.Add($"TP {p.Tp}"); dims++; }
        if (p.Pp > 1) { items.Add($"PP {p.Pp}"); dims++; }
        if (p.Dp > 1) { items.Add($"DP {p.Dp}"); dims++; }
        if (p.SequenceParallel) { items.Add("sequence parallelism"); knobs++; }
        if (p.Interleave > 1) { items.Add($"interleave {p.Interleave}"); knobs++; }
        if (p.Zero > 0) { items.Add($"ZeRO-{p.Zero}"); knobs++; }
        if (p.Recompute != Recompute.None) { items.Add($"{p.Recompute.ToString().ToLowerInvariant()} recompute"); knobs++; }
        if (e.Microbatches > 1) { items.Add($"{e.Microbatches} micro-batches of {p.Microbatch}"); knobs++; }
        string expl = $"{dims} parallel dimension{(dims == 1 ? "" : "s")} and {knobs} knob{(knobs == 1 ? "" : "s")}: {(items.Count == 0 ? "none" : string.Join(", ", items))}" +
                      (p.Tp * p.Pp > 1 ? $"; the model is split over {p.Tp * p.Pp} GPUs, so layers, memory and collectives must be balanced by hand" : "");
        c.Burden = new ParallelismBurden(dims, knobs, items, expl);
    }

    private static TrainingConfig NoFit(TrainingConfig c, string reason)
    {
        c.Fits = false;
        c.Reason = reason;
        c.Bottleneck = "does not fit";
        return c;
    }

    /// <summary>Fills time to goal, device-hours, cost and energy from the step time, tokens per step, price, power and PUE.</summary>
    private static TrainingConfig Finish(TrainingConfig c, ComparisonOptions o)
    {
        double steps = o.GoalTokens / c.TokensPerStep;
        c.StepsToGoal = steps;
        c.TimeToGoalS = steps * c.StepTimeS!.Value;
        double hours = c.TimeToGoalS.Value / 3600;
        c.DeviceHours = c.Count * hours;
        c.CostUsd = c.DeviceHours * c.PricePerDeviceHour;
        c.EnergyKwh = c.PowerKw!.Value * hours * o.Pue;
        return c;
    }

    // ---- inference --------------------------------------------------------------------------------------------

    private static InferenceConfig WaferInference(CompareModel m, ComparisonOptions o, int n, InferenceOptions inf)
    {
        var sys = SystemSpec.For(o.Wafer);
        var c = new InferenceConfig { Kind = "wafer", Device = o.Wafer.Name, Count = n };
        if (inf.PromptLen > (m.SeqLen ?? 0)) { c.Reason = $"--prompt-len {inf.PromptLen} exceeds the model's {m.SeqLen}-token context"; return c; }
        // one replica of the model takes k systems (k > 1 when its weights are pinned across wafers); n systems hold
        // n / k replicas, which share the users as the GPU side's TP groups do
        WaferProgram Compile(int batch) => WaferCompiler.Compile(m.InferenceSource!(batch, inf.PromptLen),
            new CompileOptions { Wafer = o.Wafer, Systems = 1, Mode = ExecutionMode.Auto, SeqLen = inf.PromptLen }, inference: true);
        WaferProgram prog;
        int k, replicas, perReplica;
        try
        {
            prog = Compile(inf.Batch);
            k = Math.Max(1, prog.SystemsNeeded);
            if (k > n) { c.Plan = $"{prog.Mode}, {k} systems per replica"; c.Reason = $"the weights need {k} systems pinned in SRAM; {n} given"; return c; }
            replicas = n / k;
            perReplica = (inf.Batch + replicas - 1) / replicas;
            if (perReplica != inf.Batch) prog = Compile(perReplica);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException) { c.Reason = e.Message; return c; }
        c.Plan = $"{prog.Mode}, {replicas} replica{(replicas > 1 ? "s" : "")} × {k} system{(k > 1 ? "s" : "")}, {perReplica} user{(perReplica > 1 ? "s" : "")} each" +
                 (prog.Mode == "layer-pipelined" ? ", weights pinned in SRAM" : ", weights streamed per token");
        if (prog.DecodeTokensPerS is not { } perUser) { c.Reason = "the compiler has no decode estimate for this model"; return c; }
        c.Fits = true;
        c.TtftS = prog.StepTimeS;
        c.TokensPerSPerUser = perUser;
        c.TokensPerS = perUser * inf.Batch;
        c.PowerKw = n * (o.WaferSystemPowerW ?? sys.PowerWatts) / 1000;
        c.EnergyPerTokenJ = c.PowerKw * 1000 * o.Pue / c.TokensPerS;
        double price = o.PriceWaferHour ?? CostDefaults.WaferPricePerSystemHour;
        c.CostPerMillionTokensUsd = n * price / 3600 / c.TokensPerS * 1e6;
        return c;
    }

    private static InferenceConfig GpuInference(ModelProfile prefill, GpuCluster cluster, ComparisonOptions o, int n, InferenceOptions inf)
    {
        var c = new InferenceConfig { Kind = "gpu", Device = cluster.Gpu.Name, Count = n };
        int tp = Enumerable.Range(1, Math.Min(cluster.GpusPerNode, n)).Where(t => n % t == 0 && prefill.AllowsTensorParallel(t)).DefaultIfEmpty(1).Max();
        var e = InferenceModel.Estimate(cluster, prefill, new InferenceJob(n, tp, inf.Batch, inf.PromptLen, inf.NewTokens, GpuPrecision.Bf16));
        c.Plan = $"TP {tp} × {n / tp} replica{(n / tp > 1 ? "s" : "")}";
        const double GiB = 1L << 30;
        if (!e.Fits)
        {
            c.Reason = $"{e.MemoryPerGpuBytes / GiB:0.#} GiB per GPU needed (KV cache {e.KvCacheBytesPerGpu / GiB:0.#}), {e.CapacityBytes / GiB:0.#} available";
            return c;
        }
        c.Fits = true;
        c.TtftS = e.TtftS;
        c.TokensPerSPerUser = e.TokensPerSPerUser;
        c.TokensPerS = e.TokensPerS;
        c.PowerKw = e.PowerW / 1000;
        c.EnergyPerTokenJ = e.PowerW * o.Pue / e.TokensPerS;
        c.CostPerMillionTokensUsd = n * cluster.Price / 3600 / e.TokensPerS * 1e6;
        return c;
    }

    // ---- notes and assumptions --------------------------------------------------------------------------------

    private static string? BatchNote(CompareResult r)
    {
        var w = r.Configs.Where(c => c.Kind == "wafer" && c.Fits).ToList();
        var g = r.Configs.Where(c => c.Kind == "gpu" && c.Fits).ToList();
        if (w.Count == 0 || g.Count == 0) return null;
        int wMax = w.Max(c => c.GlobalBatch), gMin = g.Min(c => c.GlobalBatch), wMin = w.Min(c => c.GlobalBatch), gMax = g.Max(c => c.GlobalBatch);
        if (wMax == gMin && wMin == gMax) return null;
        string unit = r.SeqLen is null ? "samples" : "sequences";
        string which = wMax > gMax ? $"The wafer plans use a larger global batch (up to {wMax} {unit}) than the GPU plans ({gMin}–{gMax})"
            : gMax > wMax ? $"The GPU plans use a larger global batch (up to {gMax} {unit}) than the wafer plans ({wMin}–{wMax})"
            : $"The two sides use different global batches (wafer {wMin}–{wMax}, GPU {gMin}–{gMax} {unit})";
        return $"{which}. Learning-rate rule: {BatchPolicy.LearningRateRule}. Give --global-batch to fix the same batch on both sides.";
    }

    private static List<Assumption> Assumptions(CompareModel m, ComparisonOptions o, GpuCluster g, int refBatch)
    {
        var sys = SystemSpec.For(o.Wafer);
        var list = new List<Assumption>
        {
            new("goal", $"{o.GoalTokens:0.###e0} {(m.SeqLen is null ? "samples" : "tokens")}", "--tokens"),
            new("global batch", o.GlobalBatch is { } b ? $"{b} (both sides)" : $"reference {refBatch} {(m.SeqLen is null ? "samples" : "sequences")}; each side adjusts (notes per config)",
                o.GlobalBatch is null ? "GPT-3 paper table 2.1 batch-in-tokens by model size; --global-batch overrides" : "--global-batch"),
            new("sequence length", m.SeqLen is { } s ? s.ToString(CultureInfo.InvariantCulture) : "none (goal in samples)", "--seq-len (default: the model's context)"),
            new("wafer price", $"${F(o.PriceWaferHour ?? CostDefaults.WaferPricePerSystemHour)} per system-hour",
                o.PriceWaferHour is null ? $"{CostDefaults.WaferToA100PriceRatio}× the A100 GPU-hour preset (${F(GpuCatalog.Get("a100-80gb").PricePerHour)}): WaferLLM (OSDI 2025) puts a WSE-2 at ~37× an A100's cost and power; WSE-3 launched at WSE-2's price [TH-WSE3] [uncertain]; --price-wafer-hour" : "--price-wafer-hour"),
            new("wafer system power", $"{F((o.WaferSystemPowerW ?? sys.PowerWatts) / 1000, "0.#")} kW per system, constant while training",
                "CS-1 20 kW max [TW], CS-2/CS-3 ~20–23 kW third-party [TPU-CS2] [uncertain]; weight memory and broadcast/reduce nodes not included"),
            new("GPU price", $"${F(g.Price)} per GPU-hour ({g.Gpu.DisplayName})", o.PriceGpuHour is null ? "on-demand cloud list price preset (docs/HARDWARE.md) [uncertain]; --price-gpu-hour" : "--price-gpu-hour"),
            new("GPU power", $"TDP {F(g.Gpu.TdpWatts, "0")} W × ({F(g.IdlePowerFraction)} + {F(1 - g.IdlePowerFraction)} × busy fraction) + host share {F(Math.Max(0, g.Gpu.NodePowerWatts / g.GpusPerNode - g.Gpu.TdpWatts), "0")} W per GPU",
                "NVIDIA datasheets (TDP, DGX system max power); GPU cost model"),
            new("PUE", F(o.Pue), o.Pue == CostDefaults.Pue ? "default for a modern data centre; --pue" : "--pue"),
            new("wafer step time", $"graph compiler, mode auto, clock {F(o.Wafer.ClockHz / 1e9, "0.###")} GHz", "docs/HARDWARE.md; uncertain constants are parameters"),
            new("GPU step time", $"planner search over TP/PP/DP/ZeRO/recompute/SP on {g.GpusPerNode}-GPU NVSwitch nodes, GEMM efficiency {F(g.GemmEfficiency)}", "docs/FIDELITY.md (validated against Megatron-LM runs)"),
            new("precision", "bf16 on both sides, Adam", ""),
            new("time to goal", "goal / tokens_per_step × step_time; cost = device-hours × price; energy = IT power × time × PUE", ""),
        };
        return list;
    }
}
