using WaferSharp.Compiler;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Hardware;
using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Runtime;

/// <summary>
/// A graph on a simulated wafer: numerics from the functional executor (the CPU executor, so float32 results equal
/// the <c>cpu</c> device's), time from the compiled <see cref="WaferProgram"/> (the compiler's model, or the
/// cycle-level simulator with <c>fidelity cycle</c>). The program is compiled once, on the first run, and cached by
/// graph hash, device, systems, precision and batch. bf16/fp16 run the <see cref="MixedPrecision"/> rewrite.
/// </summary>
public sealed class WaferRunner : IGraphRunner
{
    private readonly Graph.Graph _graph;
    private readonly DeviceContext _ctx;
    private readonly WaferSpec _wafer;
    private readonly WaferRuntimeOptions _options;
    private CpuExecutor? _exec;
    private readonly MixedPrecision? _mp;
    private readonly LossScaler? _scaler;
    private DeviceRunInfo? _timing;
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, LossScaler> Scalers = new();

    /// <summary>Creates a runner (compiles lazily, on the first <see cref="Run"/>).</summary>
    public WaferRunner(string device, Graph.Graph graph, DeviceContext context, WaferRuntimeOptions options)
    {
        Device = device; _graph = graph; _ctx = context; _options = options;
        _wafer = WaferSpec.Parse(device);
        if (context.Systems < 1) throw new ArgumentException($"--systems must be at least 1, got {context.Systems}");
        if (context.Fidelity is not ("fast" or "cycle")) throw new ArgumentException($"unknown fidelity '{context.Fidelity}'; use fast or cycle");
        if (context.Fidelity == "cycle")
        {
            if (!device.StartsWith("mesh:", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--fidelity cycle simulates small fabrics only; use a mesh:WxH device instead of {device}, or --fidelity fast");
            if (WaferRuntime.CycleTimer is null)
                throw new ArgumentException("--fidelity cycle needs the cycle-level fabric simulator, which is not registered in this build; use --fidelity fast");
        }
        var half = ParsePrecision(context.Precision);
        if (half is { } h)
        {
            _mp = MixedPrecision.Rewrite(graph, h);
            // One loss scale per training run: the shards' backward passes scale by what the update runner decides.
            _scaler = context.Session is { } session
                ? Scalers.GetValue(session, _ => new LossScaler(dynamic: h == DType.Float16))
                : new LossScaler(dynamic: h == DType.Float16);
            // A skipped step must leave weights and optimizer state as they were, so no in-place updates.
            _exec = new CpuExecutor(_mp.Graph) { DonatePersistentInputs = false };
        }
        // fp32: the executor runs the step graph itself, built after the first compile (in Run), because lowering
        // prunes dead nodes from the graph it is given and the executor's plan must see the graph as it will stay.
    }

    /// <inheritdoc/>
    public string Device { get; }
    /// <inheritdoc/>
    public DeviceRunInfo LastRun => _timing ?? new DeviceRunInfo(null, null, "not run");
    /// <summary>The program that times the runs (after the first run; null for partial runs).</summary>
    public WaferProgram? Program { get; private set; }
    /// <summary>The loss scaler (mixed precision only).</summary>
    public LossScaler? Scaler => _scaler;

    /// <summary>"bf16"/"fp16" → the 16-bit type; "fp32" → null.</summary>
    public static DType? ParsePrecision(string precision) => precision.ToLowerInvariant() switch
    {
        "fp32" or "float32" => null,
        "bf16" or "bfloat16" => DType.BFloat16,
        "fp16" or "float16" => DType.Float16,
        _ => throw new ArgumentException($"unknown precision '{precision}'; use fp32, bf16 or fp16"),
    };

    /// <inheritdoc/>
    public ExecutionResult Run(IReadOnlyDictionary<Value, DenseTensor> feeds)
    {
        _timing ??= Time();
        _exec ??= new CpuExecutor(_graph) { DonatePersistentInputs = true };
        if (_mp is null) return _exec.Run(feeds);

        var f = new Dictionary<Value, DenseTensor>(feeds.Count + 1);
        foreach (var (v, t) in feeds) f[_mp.Map[v]] = t;
        if (_mp.LossScale is { } ls) f[ls] = DenseTensor.Scalar(_scaler!.Scale);
        var r = _exec.Run(f);
        var updates = new Dictionary<Value, DenseTensor>(r.Updates.Count);
        foreach (var (v, t) in r.Updates) updates[_mp.Back[v]] = t;
        if (_mp.HasProbe && _ctx.Role != DeviceRole.Partial)
        {
            bool overflow = !double.IsFinite(r.Outputs[MixedPrecision.OverflowOutput].Item());
            if (_scaler!.Update(overflow))
            {
                // Skip: every update target keeps the value it was fed.
                foreach (var (target, _) in _graph.Updates) updates[target] = feeds[target];
                _timing = _timing with { Mode = BaseMode + $" (fp16 overflow: step skipped, loss scale now {_scaler.Scale:G})" };
            }
            else _timing = _timing with { Mode = BaseMode };
        }
        return new ExecutionResult(r.Outputs, updates);
    }

    private string BaseMode => Program?.Mode ?? "weight-streaming";

    // The step time of this graph's role: whole steps are compiled; partial runs are counted in the apply run.
    private DeviceRunInfo Time()
    {
        var precision = ParsePrecision(_ctx.Precision) switch
        {
            DType.BFloat16 => Precision.Bf16,
            DType.Float16 => Precision.Fp16,
            _ => Precision.Fp32,
        };
        var dtype = precision switch { Precision.Bf16 => DType.BFloat16, Precision.Fp16 => DType.Float16, _ => DType.Float32 };
        double peak = _wafer.PeakFlopsPerSecond(dtype) * _ctx.Systems;
        if (_ctx.Role == DeviceRole.Partial) return new DeviceRunInfo(0, peak, _ctx.Systems > 1 ? "weight-streaming" : "partial");
        var graph = _ctx.Role == DeviceRole.Apply
            ? _ctx.StepGraphFactory?.Invoke() ?? throw new InvalidOperationException("an apply-role runner needs the whole step graph for timing")
            : _graph;
        int batch = _ctx.StepBatch > 0 ? _ctx.StepBatch : BatchOf(graph);
        bool inference = graph.Updates.Count == 0;
        var defects = _options.DefectRate > 0 ? DefectMap.Random(_wafer.Width, _wafer.Height, _options.DefectRate, _options.DefectSeed) : null;
        int? seq = graph.Inputs.FirstOrDefault(v => v.DType is DType.Int64 or DType.Int32 && v.Rank == 2)?.Shape[1];
        string key = ProgramCache.Key(graph, _wafer.Name, _ctx.Systems, precision.ToString(), batch, inference,
            defects is null ? "" : $"{_options.DefectRate}/{_options.DefectSeed}");
        var options = new CompileOptions { Wafer = _wafer, Systems = _ctx.Systems, Precision = precision, Defects = defects, SeqLen = seq, SkipRouting = _options.SkipRouting };
        Program = ProgramCache.GetOrCompile(key, () => WaferCompiler.Compile(graph, batch, options));
        double seconds = Program.StepTimeS * Math.Max(1, _ctx.Microbatches);
        string mode = Program.Mode;
        if (_ctx.Fidelity == "cycle")
        {
            var (program, timer) = (Program, WaferRuntime.CycleTimer!);
            var c = ProgramCache.GetOrSimulate(timer, key, () => timer.Time(program, graph, _wafer));
            seconds = c.Seconds * Math.Max(1, _ctx.Microbatches);
            mode = c.Mode;
        }
        return new DeviceRunInfo(seconds, Program.PeakTflops > 0 ? Program.PeakTflops * 1e12 : peak, mode);
    }

    private static int BatchOf(Graph.Graph g) => g.Inputs.FirstOrDefault(v => v.Rank > 0 && !v.Name!.StartsWith("optim.", StringComparison.Ordinal) && !v.Name!.StartsWith("grad.", StringComparison.Ordinal))?.Shape[0] ?? 1;
}
