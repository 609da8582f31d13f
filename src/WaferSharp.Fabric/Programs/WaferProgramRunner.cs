using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using WaferSharp.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Fabric.Programs;

/// <summary>Simulated vs predicted cycles of one compiled kernel.</summary>
/// <param name="Id">Kernel id in the program.</param>
/// <param name="Name">Kernel name.</param>
/// <param name="Op">Op(s) covered.</param>
/// <param name="Family">Kernel family.</param>
/// <param name="SimulatedCycles">Cycles the fabric programs of its nodes took on the simulator.</param>
/// <param name="PredictedCycles">The compiler's prediction.</param>
public sealed record KernelCycles(int Id, string Name, string Op, string Family, long SimulatedCycles, double PredictedCycles);

/// <summary>Outcome of a whole <see cref="WaferProgram"/> on the simulator.</summary>
/// <param name="Result">Graph outputs and state updates, gathered from PE memory.</param>
/// <param name="Cycles">Simulated cycles of the step: kernels in schedule order on their regions, a kernel starting when its region is free and its inputs have arrived (route cycles added for inter-region transfers).</param>
/// <param name="PredictedCycles">The compiler's predicted step cycles.</param>
/// <param name="Kernels">Per-kernel cycles.</param>
/// <param name="RouteCycles">Cycles of inter-region transfers: simulated wavelet streams along the compiler's lanes (<see cref="RouteTransferProgram"/>), or the compiler's route cycles for the routes listed in <see cref="ProgramRun.ChargedRoutes"/>.</param>
/// <param name="Stats">Fabric counters over the whole run.</param>
public sealed record ProgramRun(Graph.Execution.ExecutionResult Result, long Cycles, double PredictedCycles, IReadOnlyList<KernelCycles> Kernels, long RouteCycles, FabricStats Stats)
{
    /// <summary>(predicted − simulated) / simulated, as the kernel-mode JSON reports it.</summary>
    public double RelativeError => Cycles == 0 ? 0 : (PredictedCycles - Cycles) / Cycles;

    /// <summary>
    /// Nodes whose values the host computed with the op's CPU rule instead of a fabric program (one "op (node)" entry
    /// each): reused timings under <see cref="WaferProgramRunner.ReuseIdenticalRuns"/>, and layout ops too large for
    /// their fabric program (only their time is simulated, as a copy pass). Empty when every value came from PE memory.
    /// </summary>
    public IReadOnlyList<string> HostComputed { get; init; } = [];

    /// <summary>
    /// Simulated cycles of the optimizer-update kernels (included in <see cref="Cycles"/>). A weight-streaming program
    /// predicts 0 for them (the compiler runs the update in weight memory as gradients stream out), so this is the
    /// part of the step the prediction leaves out by design.
    /// </summary>
    public long OptimizerCycles { get; init; }

    /// <summary>Routes charged the compiler's route cycles instead of being simulated (their value or lanes could not be mapped), as "from->to value".</summary>
    public IReadOnlyList<string> ChargedRoutes { get; init; } = [];
}

/// <summary>
/// Runs a whole compiled <see cref="WaferProgram"/> on the cycle-level <see cref="FabricSimulator"/> with real data:
/// kernels in schedule order, each graph node of a kernel as fabric programs on the kernel's region (its sub-grid at the
/// region's north-west corner) — SUMMA for MatMul/Linear (transposes folded into the tile placement), the fused Adam
/// program for AdamUpdate (in the IR's operation order), row programs (softmax, layer/RMS norm, their gradients with dγ/dβ reduced down the PE
/// columns, log-softmax and its gradient, the causal mask), reductions as a SUMMA product with a ones vector,
/// PE-local fiber moves for layout ops (Split, Concat, Slice, SliceGrad, Transpose; see <see cref="LayoutMoveProgram"/>),
/// and PE-local slice maps for the other elementwise ops. Inputs are placed in the region's PE memory and outputs read
/// back; values crossing regions are streamed as wavelets along the compiler's route lanes
/// (<see cref="RouteTransferProgram"/>; the consumer reads what arrived). Views (Reshape, Flatten, Squeeze, Unsqueeze) alias their input as in the compiler. An op with no fabric
/// program is refused with a one-line <see cref="NotSupportedException"/> naming it; nodes whose values the host
/// computed are listed in <see cref="ProgramRun.HostComputed"/>.
/// </summary>
public sealed class WaferProgramRunner
{
    private readonly Graph.Graph _graph;
    private readonly WaferProgram _program;
    private readonly WaferSpec _spec;
    private readonly FabricOptions _options;

    /// <summary>A runner of <paramref name="program"/> (compiled from <paramref name="graph"/>) on <paramref name="spec"/>.</summary>
    public WaferProgramRunner(Graph.Graph graph, WaferProgram program, WaferSpec spec, FabricOptions? options = null)
    {
        _graph = graph; _program = program; _spec = spec; _options = options ?? new FabricOptions();
        if (program.Systems > 1) throw new ArgumentException($"the fabric simulator runs one system; this program uses {program.Systems}");
        if (program.Fabric.DefectivePes > 0) throw new ArgumentException("the whole-program simulator needs a defect-free fabric; compile without --defect-rate");
    }

    /// <summary>
    /// Timing only (the cycle timer): a node or GEMM block whose op, attributes, shapes and region were already
    /// simulated in this run reuses those cycles — exact, because simulated cycles do not depend on the data and every
    /// program starts on a freshly loaded region — and its values are computed by the op's CPU rule instead.
    /// Makes large programs (zoo:mlp's 4096×8192 GEMMs in column blocks) affordable; outputs are then the CPU's.
    /// </summary>
    public bool ReuseIdenticalRuns { get; init; }

    private readonly Dictionary<string, long> _memo = new();

    // GEMM operands in the program's precision: a bf16/fp16 program comes from the mixed-precision rewrite, whose
    // MatMul inputs are already 16-bit values, so the 16-bit SUMMA (fp32 accumulation) computes the same numbers as
    // fp32 would, at the 16-bit SIMD rate the compiler priced
    private DType GemmType => _program.Precision switch { "bf16" => DType.BFloat16, "fp16" => DType.Float16, _ => DType.Float32 };

    /// <summary>The simulator of the last run (for traces and heatmaps).</summary>
    public FabricSimulator? Simulator { get; private set; }

    /// <summary>Ops with a fabric program (elementwise ops are covered generically).</summary>
    public static bool Supports(Node n) =>
        KernelLibrary.IsView(n) || n.Op.Kind == OpKind.Elementwise ||
        n.Op.Name is "MatMul" or "Linear" or "AdamUpdate" or "ReduceSum" or "ReduceMean" or "MseLoss" or "MseLossGrad" or "Full"
            or "Softmax" or "LayerNorm" or "RMSNorm" || RowLocalOps.Contains(n.Op.Name) || LayoutOps.Contains(n.Op.Name);

    // row programs over the last axis (RowTensorsProgram)
    private static readonly HashSet<string> RowLocalOps = ["LayerNormGrad", "RMSNormGrad", "SoftmaxGrad", "CausalMask", "LogSoftmax", "LogSoftmaxGrad"];
    // layout ops: PE-local fiber moves (LayoutMoveProgram)
    private static readonly HashSet<string> LayoutOps = ["Split", "Concat", "Slice", "SliceGrad", "Transpose"];

    private readonly List<string> _host = new();

    /// <summary>Runs one step with <paramref name="feeds"/> (inputs, parameters and states).</summary>
    public ProgramRun Run(IReadOnlyDictionary<Value, DenseTensor> feeds)
    {
        var covered = new HashSet<int>(_program.Kernels.SelectMany(k => k.Nodes));
        foreach (var n in _graph.Nodes)
            if (covered.Contains(n.Id) && !Supports(n)) throw new NotSupportedException($"op {n.Op.Name} ({n}) has no fabric simulator program; use --fidelity fast or the cpu device");
        var sim = new FabricSimulator(_spec, null, _options);
        Simulator = sim;
        _host.Clear();
        var env = new Dictionary<Value, DenseTensor>();
        foreach (var v in _graph.Inputs.Concat(_graph.Parameters).Concat(_graph.States))
            env[v] = feeds.TryGetValue(v, out var t) ? t : throw new ArgumentException($"no value fed for '{v.Name}' ({v.Type})");
        foreach (var c in _graph.Constants) env[c] = c.Data!;

        var byId = _graph.Nodes.ToDictionary(n => n.Id);
        var order = _program.Schedule.Order.Count > 0 ? _program.Schedule.Order : _program.Kernels.Select(k => k.Id).ToList();
        var kernels = _program.Kernels.ToDictionary(k => k.Id);
        var routesTo = _program.Routes.GroupBy(r => r.To).ToDictionary(gr => gr.Key, gr => gr.ToList());
        var byName = new Dictionary<string, Value>();
        foreach (var v in _graph.Inputs.Concat(_graph.Parameters).Concat(_graph.States).Concat(_graph.Nodes.SelectMany(nd => nd.Outputs)))
            byName.TryAdd($"%{v.Id}:{v.Type}", v);
        var charged = new List<string>();

        var done = new HashSet<Node>();
        void Views()
        {
            // views alias their input (row-major data unchanged), wherever they sit
            bool more = true;
            while (more)
            {
                more = false;
                foreach (var n in _graph.Nodes)
                    if (!done.Contains(n) && KernelLibrary.IsView(n) && env.TryGetValue(n.Inputs[0], out var x))
                    { env[n.Outputs[0]] = x.Reshape(n.Outputs[0].Shape); done.Add(n); more = true; }
            }
        }

        var perKernel = new List<KernelCycles>();
        var end = new Dictionary<int, long>();
        var regionFree = new Dictionary<int, long>();
        long routeTotal = 0, total = 0;
        foreach (var kid in order)
        {
            var k = kernels[kid];
            Views();
            // inter-region transfers into this kernel, as wavelet streams; the kernel then reads the values that arrived
            var routeCycles = new Dictionary<int, long>();
            foreach (var r in routesTo.GetValueOrDefault(kid) ?? [])
            {
                long rc;
                if (byName.TryGetValue(r.Value, out var v) && env.TryGetValue(v, out var data) && r.Lanes.Count > 0
                    && RouteTransferProgram.Run(sim, r, F32(data)) is var (got, c))
                {
                    env[v] = DenseTensor.FromArray(got, v.Shape.Dims.ToArray()).To(v.DType);
                    rc = c;
                }
                else { charged.Add($"{r.From}->{r.To} {r.Value}"); rc = (long)Math.Ceiling(r.Cycles); }
                routeCycles[r.From] = Math.Max(routeCycles.GetValueOrDefault(r.From), rc);
            }
            long cycles = 0;
            foreach (var id in k.Nodes.OrderBy(i => i))
            {
                var n = byId[id];
                string key = ReuseIdenticalRuns ? $"{n.Op.Name}|{n.Attrs}|{string.Join(";", n.Inputs.Select(v => v.Type.ToString()))}|{k.Region}|{string.Join("x", k.Grid)}" : "";
                if (ReuseIdenticalRuns && _memo.TryGetValue(key, out long known))
                {
                    var ins = n.Inputs.Select(v => env[v]).ToArray();
                    var outs = n.Op.Execute(ins, n.Attrs, n.Outputs.Select(o => o.Type).ToArray());
                    for (int i = 0; i < outs.Length; i++) env[n.Outputs[i]] = outs[i];
                    _host.Add($"{n.Op.Name} ({n})");
                    cycles += known;
                }
                else
                {
                    long c = Execute(sim, n, k, env);
                    if (ReuseIdenticalRuns) _memo[key] = c;
                    cycles += c;
                }
                done.Add(n);
            }
            long start = regionFree.GetValueOrDefault(k.RegionId);
            foreach (var src in k.Inputs)
            {
                long route = routeCycles.GetValueOrDefault(src);
                routeTotal += route;
                start = Math.Max(start, end.GetValueOrDefault(src) + route);
            }
            end[kid] = start + cycles;
            regionFree[k.RegionId] = end[kid];
            total = Math.Max(total, end[kid]);
            perKernel.Add(new KernelCycles(k.Id, k.Name, k.Op, k.Family, cycles, k.Cycles));
        }
        // nodes no kernel covers are dead code the compile pruned (e.g. the gradient of the batch input); a result
        // that needs one is an error
        Views();
        DenseTensor Get(Value v) => env.TryGetValue(v, out var t) ? t
            : throw new InvalidOperationException($"{v} is produced by {v.Producer}, which is in no compiled kernel; recompile the program from this graph");
        var outputs = new Dictionary<string, DenseTensor>();
        foreach (var (name, v) in _graph.Outputs) outputs[name] = Get(v);
        var updates = new Dictionary<Value, DenseTensor>();
        foreach (var (t, nv) in _graph.Updates) updates[t] = Get(nv);
        return new ProgramRun(new Graph.Execution.ExecutionResult(outputs, updates), total, _program.StepCycles, perKernel, routeTotal, sim.Stats())
            { HostComputed = _host.ToList(), ChargedRoutes = charged, OptimizerCycles = perKernel.Where(k => k.Family == "OptimizerUpdate").Sum(k => k.SimulatedCycles) };
    }

    private Region GridOf(ProgramKernel k)
    {
        var r = k.Region;
        int w = k.Grid.Length > 0 && k.Grid[0] > 0 ? Math.Min(k.Grid[0], r.W) : r.W;
        int h = k.Grid.Length > 1 && k.Grid[1] > 0 ? Math.Min(k.Grid[1], r.H) : r.H;
        return new Region(r.X, r.Y, Math.Max(1, w), Math.Max(1, h));
    }

    // runs one node; returns its simulated cycles
    private long Execute(FabricSimulator sim, Node n, ProgramKernel k, Dictionary<Value, DenseTensor> env)
    {
        var ins = n.Inputs.Select(v => env.TryGetValue(v, out var t) ? t : throw new InvalidOperationException($"{n}: input {v} not computed before kernel {k.Id}")).ToArray();
        var grid = GridOf(k);
        var full = new Region(k.Region.X, k.Region.Y, k.Region.W, k.Region.H);
        switch (n.Op.Name)
        {
            case "Full":
            {
                // a constant fill: one vector move of the scalar per PE
                var shape = n.Outputs[0].Shape;
                float value = (float)n.Attrs.GetDouble("value");
                var plan = new LayoutMoveProgram.Plan(shape.Numel, 1, [], [1], fp => [new FiberMove(0, 0, 1, -1, 0, 1, fp, value)]);
                var (o, c) = LayoutMoveProgram.Run(sim, grid, plan, [], "fill")!.Value;
                env[n.Outputs[0]] = DenseTensor.FromArray(o[0], shape.Dims.ToArray()).To(n.Outputs[0].DType);
                return c;
            }
            case "MatMul": return MatMul(sim, n, ins, grid, env);
            case "Linear": return Linear(sim, n, ins, grid, env);
            case "AdamUpdate": return Adam(sim, n, ins, full, env);
            case "ReduceSum": case "ReduceMean": return Reduce(sim, n, ins, grid, env);
            case "MseLoss": return MseLoss(sim, n, ins, grid, env);
            case "MseLossGrad":
            {
                int len = (int)ins[0].Shape.Numel;
                float s = len == 0 ? 0 : 2f * ins[2].AsFloat32().AsFloat()[0] / len;
                var (o, c) = MapRun(sim, grid, "mse-grad", [F32(ins[0]), F32(ins[1])], 2, len, (a, b) =>
                {
                    for (int i = 0; i < a[0].Length; i++) { float v = (a[0][i] - a[1][i]) * s; b[0][i] = v; b[1][i] = -v; }
                }, 2);
                env[n.Outputs[0]] = DenseTensor.FromArray(o[0], ins[0].Shape.Dims.ToArray());
                env[n.Outputs[1]] = DenseTensor.FromArray(o[1], ins[0].Shape.Dims.ToArray());
                return c;
            }
            case "Softmax":
            {
                int axis = n.Attrs.GetInt("axis", -1);
                if (axis != -1 && axis != ins[0].Shape.Rank - 1) throw new NotSupportedException($"op Softmax over axis {axis} has no fabric simulator program (last axis only)");
                int len = ins[0].Shape[^1], rows = (int)(ins[0].Shape.Numel / len);
                var reg = RowRegion(grid, rows);
                var run = SoftmaxProgram.Run(sim, reg, F32(ins[0]), rows, len);
                env[n.Outputs[0]] = DenseTensor.FromArray(run.Output, ins[0].Shape.Dims.ToArray());
                return run.Cycles;
            }
            case "LayerNorm": case "RMSNorm":
            {
                bool rms = n.Op.Name == "RMSNorm";
                int len = ins[0].Shape[^1], rows = (int)(ins[0].Shape.Numel / len);
                if (n.Outputs.Length > 1) throw new NotSupportedException($"op {n.Op.Name} with saved statistics has no fabric simulator program");
                var reg = RowRegion(grid, rows);
                float eps = n.Attrs.GetFloat("eps", 1e-5f);
                var gamma = ins.Length > 1 ? F32(ins[1]) : Enumerable.Repeat(1f, len).ToArray();
                float[]? beta = !rms && ins.Length > 2 ? F32(ins[2]) : rms ? null : new float[len];
                var run = NormProgram.Run(sim, reg, F32(ins[0]), rows, len, gamma, beta, rms, eps);
                env[n.Outputs[0]] = DenseTensor.FromArray(run.Output, ins[0].Shape.Dims.ToArray());
                return run.Cycles;
            }
        }
        if (RowLocalOps.Contains(n.Op.Name)) return RowProgram(sim, n, ins, grid, env);
        if (LayoutOps.Contains(n.Op.Name)) return Layout(sim, n, ins, grid, env);
        if (n.Op.Kind == OpKind.Elementwise) return Map(sim, n, ins, grid, env);
        throw new NotSupportedException($"op {n.Op.Name} ({n}) has no fabric simulator program; use --fidelity fast or the cpu device");
    }

    private static Region RowRegion(Region grid, int rows) => grid with { Height = Math.Max(1, Math.Min(grid.Height, rows)) };

    private static float[] F32(DenseTensor t) => t.AsFloat32().AsFloat().ToArray();

    // elementwise: inputs broadcast to the output shape on placement, the op's own pointwise rule on each PE's slice
    private long Map(FabricSimulator sim, Node n, DenseTensor[] ins, Region grid, Dictionary<Value, DenseTensor> env)
    {
        var outShape = n.Outputs[0].Shape;
        int len = (int)outShape.Numel;
        foreach (var o in n.Outputs)
            if (o.Shape != outShape) throw new NotSupportedException($"op {n.Op.Name} with outputs of different shapes has no fabric simulator program");
        var placed = new float[ins.Length][];
        for (int i = 0; i < ins.Length; i++)
            placed[i] = ins[i].Shape == outShape ? F32(ins[i]) : F32(Broadcast(ins[i], outShape));
        var inTypes = ins.Select(t => t.DType).ToArray();
        var outTypes = n.Outputs.Select(o => o.Type).ToArray();
        var op = n.Op; var attrs = n.Attrs;
        var flops = Graph.Graph.NodeCost(n).Flops;
        int perElem = (int)Math.Clamp(Math.Ceiling(flops / Math.Max(1.0, len) / 2.0), 1, 64);
        var (outs, cycles) = MapRun(sim, grid, op.Name, placed, n.Outputs.Length, len, (a, b) =>
        {
            int v = a.Length > 0 ? a[0].Length : b[0].Length;
            var sliceIns = new DenseTensor[a.Length];
            for (int i = 0; i < a.Length; i++) sliceIns[i] = DenseTensor.FromArray(a[i], v).To(inTypes[i]);
            var types = outTypes.Select(t => new TensorType(t.DType, new Shape(v))).ToArray();
            var r = op.Execute(sliceIns, attrs, types);
            for (int i = 0; i < r.Length; i++) r[i].AsFloat32().AsFloat().CopyTo(b[i]);
        }, perElem);
        for (int i = 0; i < n.Outputs.Length; i++)
            env[n.Outputs[i]] = DenseTensor.FromArray(outs[i], outShape.Dims.ToArray()).To(n.Outputs[i].DType);
        return cycles;
    }

    private static DenseTensor Broadcast(DenseTensor t, Shape to)
    {
        var o = new float[to.Numel];
        Tensors.Kernels.Broadcast.Expand<float>(t.AsFloat32().AsFloat(), t.Shape, o, to);
        return DenseTensor.FromArray(o, to.Dims.ToArray());
    }

    // A GEMM on the largest square of the kernel's grid whose tiles fit SRAM; when even the fabric's largest square
    // cannot hold them, C is produced in column blocks (B streamed in slices, as the compiler's chunked kernels do).
    private long Gemm(FabricSimulator sim, Region grid, float[] a, float[] b, int m, int kk, int nn, out float[] c)
    {
        int p = Math.Max(1, Math.Min(grid.Width, grid.Height));
        int side = Math.Min(sim.Width - grid.X, sim.Height - grid.Y);
        bool Fits(int q, int cols, int rows) => new SummaGemmProgram(q, Div(rows, q), Div(kk, q), Div(cols, q), GemmType).SramBytes <= sim.Spec.PeSramBytes;
        while (p < side && !Fits(p, nn, m)) p++;
        int nc = nn, mc = m;
        while (!Fits(p, nc, mc) && nc > 1) nc = Div(nc, 2);
        while (!Fits(p, nc, mc) && mc > 1) mc = Div(mc, 2);
        if (!Fits(p, nc, mc))
            throw new ArgumentException($"gemm {m}x{kk}x{nn}: a {kk}-long contraction does not fit the {sim.Spec.PeSramBytes}-byte PE SRAM on {p}x{p}; use a larger mesh");
        if (nc == nn && mc == m)
        {
            var run = SummaGemmProgram.Run(sim, grid.X, grid.Y, p, a, b, m, kk, nn, GemmType);
            c = run.Output;
            return run.Cycles;
        }
        c = new float[(long)m * nn];
        long cycles = 0;
        for (int r0 = 0; r0 < m; r0 += mc)
        {
            int rows = Math.Min(mc, m - r0);
            var ab = a.AsSpan(r0 * kk, rows * kk).ToArray();
            for (int c0 = 0; c0 < nn; c0 += nc)
            {
                int cols = Math.Min(nc, nn - c0);
                var bb = new float[kk * cols];
                for (int i = 0; i < kk; i++) b.AsSpan(i * nn + c0, cols).CopyTo(bb.AsSpan(i * cols));
                string key = $"gemm-block|{p}|{rows}|{kk}|{cols}|{grid}";
                float[] block;
                if (ReuseIdenticalRuns && _memo.TryGetValue(key, out long known))
                {
                    cycles += known;
                    block = new float[rows * cols];
                    Sgemm.Multiply(false, false, rows, cols, kk, 1f, ab, kk, bb, cols, 0f, block, cols);
                }
                else
                {
                    var run = SummaGemmProgram.Run(sim, grid.X, grid.Y, p, ab, bb, rows, kk, cols, GemmType);
                    if (ReuseIdenticalRuns) _memo[key] = run.Cycles;
                    cycles += run.Cycles; block = run.Output;
                }
                for (int i = 0; i < rows; i++) block.AsSpan(i * cols, cols).CopyTo(c.AsSpan((r0 + i) * nn + c0));
            }
        }
        return cycles;
    }

    // Independent GEMMs of one shape (a batched MatMul) side by side on disjoint P × P squares of the grid, as many at
    // once as the grid holds, each group loaded together and run as one; sequential GEMMs when only one square fits.
    private long BatchedGemm(FabricSimulator sim, Region grid, float[][] a, float[][] b, int m, int kk, int nn, out float[][] c)
    {
        int batches = a.Length;
        c = new float[batches][];
        int p = Math.Max(1, Math.Min(grid.Width, grid.Height));
        int across = grid.Width / p, slots = across * (grid.Height / p);
        int mt = Div(m, p), kt = Div(kk, p), nt = Div(nn, p);
        long cycles = 0;
        if (batches < 2 || slots < 2 || new SummaGemmProgram(p, mt, kt, nt, GemmType).SramBytes > sim.Spec.PeSramBytes)
        {
            for (int i = 0; i < batches; i++) cycles += Gemm(sim, grid, a[i], b[i], m, kk, nn, out c[i]);
            return cycles;
        }
        for (int b0 = 0; b0 < batches; b0 += slots)
        {
            int group = Math.Min(slots, batches - b0);
            var progs = new SummaGemmProgram[group];
            var origin = new (int X, int Y)[group];
            for (int i = 0; i < group; i++)
            {
                origin[i] = (grid.X + i % across * p, grid.Y + i / across * p);
                progs[i] = new SummaGemmProgram(p, mt, kt, nt, GemmType);
                for (int y = 0; y < p; y++)
                    for (int x = 0; x < p; x++)
                    {
                        var pe = sim.PeAt(origin[i].X + x, origin[i].Y + y);
                        SummaGemmProgram.Place(pe, progs[i].AAddress, a[b0 + i], m, kk, y * mt, x * kt, mt, kt, GemmType);
                        SummaGemmProgram.Place(pe, progs[i].BAddress, b[b0 + i], kk, nn, y * kt, x * nt, kt, nt, GemmType);
                    }
            }
            long t0 = sim.Now;
            for (int i = 0; i < group; i++) sim.Load(progs[i], new Region(origin[i].X, origin[i].Y, p, p));
            long end = sim.Run();
            sim.Phase($"gemm-summa x{group} {m}x{kk}x{nn}", t0, end);
            cycles += end - t0;
            for (int i = 0; i < group; i++)
            {
                var ci = c[b0 + i] = new float[m * nn];
                for (int y = 0; y < p; y++)
                    for (int x = 0; x < p; x++)
                    {
                        var t = sim.PeAt(origin[i].X + x, origin[i].Y + y).F32(progs[i].CAddress, mt * nt);
                        for (int r = 0; r < mt && y * mt + r < m; r++)
                            for (int j = 0; j < nt && x * nt + j < nn; j++) ci[(y * mt + r) * nn + x * nt + j] = t[r * nt + j];
                    }
            }
        }
        return cycles;
    }

    // a slice map, chunked when the data exceed the region's SRAM
    private static (float[][] Outputs, long Cycles) MapRun(FabricSimulator sim, Region region, string name, float[][] inputs, int outputs, int length,
        SliceMapProgram.SliceFunction fn, int cost)
    {
        var outv = new float[outputs][];
        for (int o = 0; o < outputs; o++) outv[o] = new float[length];
        long cycles = Chunked(sim, region, length, inputs.Length + outputs, (s0, len) =>
        {
            var part = inputs.Select(x => x.AsSpan(s0, len).ToArray()).ToArray();
            var (r, c) = SliceMapProgram.Run(sim, region, name, part, outputs, len, fn, cost);
            for (int o = 0; o < outputs; o++) r[o].CopyTo(outv[o], s0);
            return c;
        });
        return (outv, cycles);
    }

    // Element-parallel programs on more data than the region's SRAM holds run in chunks (streamed through).
    private static long Chunked(FabricSimulator sim, Region region, int length, int tensors, Func<int, int, long> run)
    {
        long cap = region.PeCount * Math.Max(1, (sim.Spec.PeSramBytes - 64) / (4 * tensors));
        long cycles = 0;
        for (int s0 = 0; s0 < Math.Max(1, length); s0 += (int)Math.Min(int.MaxValue, cap))
            cycles += run(s0, (int)Math.Min(cap, length - s0));
        return cycles;
    }

    private static int Div(int a, int b) => (a + b - 1) / b;

    // row-major [r, c] of a 2-D slice, transposed when asked (the layout is applied as the tiles are placed)
    private static float[] Mat(ReadOnlySpan<float> src, int rows, int cols, bool transpose)
    {
        var o = new float[rows * cols];
        if (!transpose) { src[..(rows * cols)].CopyTo(o); return o; }
        // src is [cols, rows]
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) o[i * cols + j] = src[j * rows + i];
        return o;
    }

    private long MatMul(FabricSimulator sim, Node n, DenseTensor[] ins, Region grid, Dictionary<Value, DenseTensor> env)
    {
        var (x, y) = (ins[0], ins[1]);
        bool ta = n.Attrs.GetBool("trans_a", false), tb = n.Attrs.GetBool("trans_b", false);
        float alpha = n.Attrs.Has("alpha") ? n.Attrs.GetFloat("alpha") : 1f;
        if (x.Shape.Rank < 2 || y.Shape.Rank < 2) throw new NotSupportedException($"op MatMul on rank-1 operands ({x.Shape} @ {y.Shape}) has no fabric simulator program");
        int xr = x.Shape[^2], xc = x.Shape[^1], yr = y.Shape[^2], yc = y.Shape[^1];
        int m = ta ? xc : xr, kk = ta ? xr : xc, nn = tb ? yr : yc;
        var outShape = n.Outputs[0].Shape;
        long batches = outShape.Numel / ((long)m * nn);
        long xb = x.Shape.Numel / ((long)xr * xc), yb = y.Shape.Numel / ((long)yr * yc);
        if ((xb != batches && xb != 1) || (yb != batches && yb != 1))
            throw new NotSupportedException($"op MatMul with broadcast batch dims ({x.Shape} @ {y.Shape}) has no fabric simulator program");
        var xs = x.AsFloat32().AsFloat().ToArray(); var ys = y.AsFloat32().AsFloat().ToArray();
        var o = new float[outShape.Numel];
        long cycles = 0;
        // a 2-D A with a shared B: fold the batch into the rows
        if (!ta && yb == 1 && xb == batches && batches > 1)
        {
            int rows = (int)(batches * m);
            cycles += Gemm(sim, grid, xs, Mat(ys, kk, nn, tb), rows, kk, nn, out var c);
            cycles += Scale(sim, grid, c, alpha); c.CopyTo(o, 0);
        }
        else
        {
            var As = new float[batches][]; var Bs = new float[batches][];
            for (long bi = 0; bi < batches; bi++)
            {
                As[bi] = Mat(xs.AsSpan((int)((xb == 1 ? 0 : bi) * xr * xc)), m, kk, ta);
                Bs[bi] = Mat(ys.AsSpan((int)((yb == 1 ? 0 : bi) * yr * yc)), kk, nn, tb);
            }
            cycles += BatchedGemm(sim, grid, As, Bs, m, kk, nn, out var Cs);
            var flat = new float[o.Length];
            for (long bi = 0; bi < batches; bi++) Cs[bi].CopyTo(flat, (int)(bi * m * nn));
            cycles += Scale(sim, grid, flat, alpha);
            flat.CopyTo(o, 0);
        }
        env[n.Outputs[0]] = DenseTensor.FromArray(o, outShape.Dims.ToArray());
        return cycles;
    }

    // C ← α·C as one vector multiply per PE on the region (C in place)
    private static long Scale(FabricSimulator sim, Region grid, float[] c, float alpha)
    {
        if (alpha == 1f) return 0;
        return Chunked(sim, grid, c.Length, 2, (s0, len) =>
        {
            var run = ElementwiseChainProgram.Run(sim, grid, [c.AsSpan(s0, len).ToArray()], [new ChainStep(VecOp.Mul, -1, alpha)]);
            run.Output.CopyTo(c, s0);
            return run.Cycles;
        });
    }

    private long Linear(FabricSimulator sim, Node n, DenseTensor[] ins, Region grid, Dictionary<Value, DenseTensor> env)
    {
        var (x, w) = (ins[0], ins[1]);
        int kk = w.Shape[1], nn = w.Shape[0], m = (int)(x.Shape.Numel / kk);
        long cycles = Gemm(sim, grid, F32(x), Mat(w.AsFloat32().AsFloat(), kk, nn, transpose: true), m, kk, nn, out var c);
        if (ins.Length == 3)
        {
            // bias: the row vector broadcast down the rows, added by one vector instruction per PE
            var bias = Broadcast(ins[2], new Shape(m, nn));
            var bf = F32(bias); var sum = new float[c.Length]; var cc = c;
            cycles += Chunked(sim, grid, c.Length, 3, (s0, len) =>
            {
                var run = ElementwiseChainProgram.Run(sim, grid, [cc.AsSpan(s0, len).ToArray(), bf.AsSpan(s0, len).ToArray()], [new ChainStep(VecOp.Add, 1)]);
                run.Output.CopyTo(sum, s0);
                return run.Cycles;
            });
            c = sum;
        }
        env[n.Outputs[0]] = DenseTensor.FromArray(c, n.Outputs[0].Shape.Dims.ToArray());
        return cycles;
    }

    private static long Adam(FabricSimulator sim, Node n, DenseTensor[] ins, Region region, Dictionary<Value, DenseTensor> env)
    {
        float l2 = n.Attrs.GetFloat("l2", 0);
        if (l2 != 0) throw new NotSupportedException("op AdamUpdate with l2 (coupled weight decay) has no fabric simulator program; use AdamW");
        float decay = ins[4].AsFloat()[0], stepSize = ins[5].AsFloat()[0], bc2 = ins[6].AsFloat()[0];
        int len = (int)ins[0].Shape.Numel;
        var pes = (int)Math.Min(region.PeCount, Math.Max(1, len));
        var reg = pes < region.PeCount ? new Region(region.X, region.Y, Math.Min(region.Width, pes), Div(pes, Math.Min(region.Width, pes))) : region;
        float[] p0 = F32(ins[0]), g0 = F32(ins[1]), m0 = F32(ins[2]), v0 = F32(ins[3]);
        float[] np = new float[len], nm = new float[len], nv = new float[len];
        long cycles = Chunked(sim, reg, len, 6, (s0, l) =>
        {
            var r = AdamProgram.Run(sim, reg, p0.AsSpan(s0, l).ToArray(), g0.AsSpan(s0, l).ToArray(), m0.AsSpan(s0, l).ToArray(), v0.AsSpan(s0, l).ToArray(),
                AdamUpdateConstants.Of(n.Attrs.GetDouble("beta1"), n.Attrs.GetDouble("beta2"), n.Attrs.GetFloat("eps"), decay, stepSize, bc2));
            r.Output.AsSpan(0, l).CopyTo(np.AsSpan(s0)); r.Output.AsSpan(l, l).CopyTo(nm.AsSpan(s0)); r.Output.AsSpan(2 * l, l).CopyTo(nv.AsSpan(s0));
            return r.Cycles;
        });
        var dims = ins[0].Shape.Dims.ToArray();
        env[n.Outputs[0]] = DenseTensor.FromArray(np, dims);
        env[n.Outputs[1]] = DenseTensor.FromArray(nm, dims);
        env[n.Outputs[2]] = DenseTensor.FromArray(nv, dims);
        return cycles;
    }

    // sum (mean) over axes in the compiler's reduction layout: the kept axes moved to the front on placement (layout),
    // then row sums of Xᵀ[C×R] — kept elements down the PE rows, each reduced fiber along a PE row and all-reduced there
    private static long Reduce(FabricSimulator sim, Node n, DenseTensor[] ins, Region grid, Dictionary<Value, DenseTensor> env)
    {
        var x = ins[0];
        var shape = x.Shape;
        var raw = n.Attrs.Has("axes") ? n.Attrs.GetInts("axes") : [];
        var axes = (raw.Length == 0 ? Enumerable.Range(0, shape.Rank) : raw.Select(a => a < 0 ? a + shape.Rank : a)).Distinct().OrderBy(a => a).ToArray();
        var kept = Enumerable.Range(0, shape.Rank).Where(d => Array.IndexOf(axes, d) < 0).ToArray();
        var perm = kept.Concat(axes).ToArray();
        var xt = F32(OpRegistry.Get("Transpose").Execute([x.AsFloat32()], Attrs.Of(("perm", perm)), [new TensorType(DType.Float32, new Shape(perm.Select(d => shape[d]).ToArray()))])[0]);
        int rows = (int)kept.Aggregate(1L, (acc, d) => acc * shape[d]);
        int len = (int)(shape.Numel / Math.Max(1, rows));
        var o = new float[rows];
        long cycles = 0;
        if (len > 0)
        {
            var reg = RowRegion(grid, rows) with { Width = Math.Max(1, Math.Min(grid.Width, len)) };
            int lp = Div(len, reg.Width);
            int perPe = (int)Math.Max(1, (sim.Spec.PeSramBytes - 64) / (4L * lp + 16));
            int chunk = (int)Math.Min(rows, (long)perPe * reg.Height);
            for (int r0 = 0; r0 < rows; r0 += chunk)
            {
                int rc = Math.Min(chunk, rows - r0);
                var run = RowReduceProgram.Run(sim, RowRegion(reg, rc), xt.AsSpan(r0 * len, rc * len).ToArray(), null, rc, len, n.Op.Name == "ReduceMean" ? len : 1);
                run.Output.CopyTo(o, r0);
                cycles += run.Cycles;
            }
        }
        env[n.Outputs[0]] = DenseTensor.FromArray(o, n.Outputs[0].Shape.Dims.ToArray());
        return cycles;
    }

    // mean of (p − t)²: Σ(p − t)² of each SRAM-sized chunk as one row over the grid's first PE row, the chunk sums
    // summed the same way, divided by the count on the fabric
    private static long MseLoss(FabricSimulator sim, Node n, DenseTensor[] ins, Region grid, Dictionary<Value, DenseTensor> env)
    {
        int len = (int)ins[0].Shape.Numel;
        if (len == 0) { env[n.Outputs[0]] = DenseTensor.Scalar(float.NaN); return 0; }
        float[] p = F32(ins[0]), t = F32(ins[1]);
        var reg = grid with { Height = 1, Width = Math.Max(1, Math.Min(grid.Width, len)) };
        if (len <= reg.PeCount * Math.Max(1, (sim.Spec.PeSramBytes - 64) / 8))
        {
            var one = RowReduceProgram.Run(sim, reg, p, t, 1, len, len);
            env[n.Outputs[0]] = DenseTensor.Scalar(len == 0 ? float.NaN : one.Output[0]);
            return one.Cycles;
        }
        var partial = new List<float>();
        long cycles = Chunked(sim, reg, len, 2, (s0, l) =>
        {
            var run = RowReduceProgram.Run(sim, reg with { Width = Math.Max(1, Math.Min(reg.Width, l)) }, p.AsSpan(s0, l).ToArray(), t.AsSpan(s0, l).ToArray(), 1, l, 1);
            partial.Add(run.Output[0]);
            return run.Cycles;
        });
        var sums = partial.ToArray();
        var fin = RowReduceProgram.Run(sim, reg with { Width = Math.Max(1, Math.Min(reg.Width, sums.Length)) }, sums, null, 1, sums.Length, len);
        env[n.Outputs[0]] = DenseTensor.Scalar(len == 0 ? float.NaN : fin.Output[0]);
        return cycles + fin.Cycles;
    }

    // row programs over the last axis; the region is the kernel's grid, at most one PE row per row and one PE column per element
    private static long RowProgram(FabricSimulator sim, Node n, DenseTensor[] ins, Region grid, Dictionary<Value, DenseTensor> env)
    {
        var x = ins[0];
        if (x.Shape.Rank == 0) throw new NotSupportedException($"op {n.Op.Name} on a scalar has no fabric simulator program");
        int len = x.Shape[^1], rows = (int)(x.Shape.Numel / Math.Max(1, len));
        if (n.Op.Name is "SoftmaxGrad" or "LogSoftmax" or "LogSoftmaxGrad" && n.Attrs.Has("axis"))
        {
            int axis = n.Attrs.GetInt("axis", -1);
            if (axis != -1 && axis != x.Shape.Rank - 1) throw new NotSupportedException($"op {n.Op.Name} over axis {axis} has no fabric simulator program (last axis only)");
        }
        var dims = x.Shape.Dims.ToArray();
        if (rows == 0 || len == 0)
        {
            for (int o = 0; o < n.Outputs.Length; o++) env[n.Outputs[o]] = DenseTensor.Zeros(n.Outputs[o].Shape);
            return 0;
        }
        var reg = RowRegion(grid, rows) with { Width = Math.Max(1, Math.Min(grid.Width, len)) };
        switch (n.Op.Name)
        {
            case "SoftmaxGrad":
            {
                var run = SoftmaxGradProgram.Run(sim, reg, F32(ins[0]), F32(ins[1]), rows, len);
                env[n.Outputs[0]] = DenseTensor.FromArray(run.Output, dims);
                return run.Cycles;
            }
            case "LogSoftmax":
            {
                var run = LogSoftmaxProgram.Run(sim, reg, F32(ins[0]), rows, len);
                env[n.Outputs[0]] = DenseTensor.FromArray(run.Output, dims);
                return run.Cycles;
            }
            case "LogSoftmaxGrad":
            {
                var run = LogSoftmaxGradProgram.Run(sim, reg, F32(ins[0]), F32(ins[1]), rows, len);
                env[n.Outputs[0]] = DenseTensor.FromArray(run.Output, dims);
                return run.Cycles;
            }
            case "CausalMask":
            {
                int tq = x.Shape[-2];
                var run = CausalMaskProgram.Run(sim, reg, F32(x), rows, len, tq, n.Attrs.GetLong("offset", 0), n.Attrs.GetFloat("fill", float.NegativeInfinity));
                env[n.Outputs[0]] = DenseTensor.FromArray(run.Output, dims);
                return run.Cycles;
            }
            default: // LayerNormGrad, RMSNormGrad: (g, x[, w]) → dx[, dw[, db]]
            {
                bool rms = n.Op.Name == "RMSNormGrad";
                float eps = n.Attrs.GetFloat("eps", rms ? 1e-6f : 1e-5f);
                var (dx, grads, c) = NormGradProgram.Run(sim, reg, F32(ins[0]), F32(ins[1]), rows, len, ins.Length > 2 ? F32(ins[2]) : null, rms, eps);
                env[n.Outputs[0]] = DenseTensor.FromArray(dx, dims);
                for (int o = 1; o < n.Outputs.Length; o++) env[n.Outputs[o]] = DenseTensor.FromArray(grads[o - 1], n.Outputs[o].Shape.Dims.ToArray());
                return c;
            }
        }
    }

    private long Layout(FabricSimulator sim, Node n, DenseTensor[] ins, Region grid, Dictionary<Value, DenseTensor> env)
    {
        var flat = ins.Select(F32).ToArray();
        if ((LayoutMoveProgram.RunBlocked(sim, grid, n, flat) ?? (LayoutMoveProgram.PlanOf(n) is { } plan ? LayoutMoveProgram.Run(sim, grid, plan, flat, n.Op.Name) : null))
            is var (outs, cycles))
        {
            for (int o = 0; o < outs.Length; o++) env[n.Outputs[o]] = DenseTensor.FromArray(outs[o], n.Outputs[o].Shape.Dims.ToArray()).To(n.Outputs[o].DType);
            return cycles;
        }
        // a transpose of every axis: its data change PEs, exchanged as wavelets along a row of PEs
        if (n.Op.Name == "Transpose")
        {
            var shape = ins[0].Shape;
            var perm = n.Attrs.Has("perm") ? n.Attrs.GetInts("perm").Select(a => a < 0 ? a + shape.Rank : a).ToArray() : Enumerable.Range(0, shape.Rank).Reverse().ToArray();
            if (TransposeExchange.Run(sim, grid, flat[0], TransposeExchange.Sources(shape, perm), "transpose-exchange") is var (t, c))
            {
                env[n.Outputs[0]] = DenseTensor.FromArray(t, n.Outputs[0].Shape.Dims.ToArray()).To(n.Outputs[0].DType);
                return c;
            }
        }
        // a fiber or a slice exceeds a PE's SRAM: the host applies the layout, the fabric runs a copy pass
        _host.Add($"{n.Op.Name} ({n})");
        var hostOuts = n.Op.Execute(ins, n.Attrs, n.Outputs.Select(o => o.Type).ToArray());
        long total = 0;
        for (int o = 0; o < hostOuts.Length; o++)
        {
            var moved = F32(hostOuts[o]);
            var (r, c) = MapRun(sim, grid, n.Op.Name, [moved], 1, moved.Length, (a, b) => a[0].CopyTo(b[0], 0), 1);
            env[n.Outputs[o]] = DenseTensor.FromArray(r[0], n.Outputs[o].Shape.Dims.ToArray()).To(n.Outputs[o].DType);
            total += c;
        }
        return total;
    }
}
