using System.CommandLine;
using System.Diagnostics;
using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer simulate --kernel gemm|gemv|allreduce|softmax|layernorm --m M --n N --k K --device mesh:WxH
/// [--precision fp32|bf16] [--trace t.json] [--link-heatmap h.svg] [--json out.json]</c>: runs one kernel on the
/// cycle-level fabric simulator with random inputs (fixed seed), checks it against the CPU, and compares the cycles
/// with the compiler's prediction. gemm runs the compiler's pick of SUMMA or MeshGEMM (shift) on the largest square region; gemv Y[M×N] = X[M×K]·W[K×N];
/// allreduce sums --n floats per PE over the whole fabric; softmax/layernorm run over M rows of length N; attention runs
/// --k heads of softmax(Q·Kᵀ/√D [+ causal mask])·V with T = --m and D = --n (<c>--causal</c> for the mask) as the fused
/// FlashAttention-style program on the whole fabric, against <see cref="AttentionKernel.PlanFused"/>'s prediction.
/// </summary>
public static class SimulateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var kernel = new Option<string?>("--kernel") { Description = "gemm | gemv | allreduce | softmax | layernorm | attention" };
        var model = new Argument<string?>("model") { Arity = ArgumentArity.ZeroOrOne, Description = "Whole-model mode: zoo:NAME or an .onnx file (instead of --kernel)." };
        var trainOpt = new Option<bool>("--train") { Description = "Model mode: simulate a training step (default)." };
        var inferOpt = new Option<bool>("--inference") { Description = "Model mode: simulate a forward pass." };
        var batchOpt = new Option<int>("--batch-size") { DefaultValueFactory = _ => 8, Description = "Model mode: samples per step." };
        var seqOpt = new Option<int?>("--seq-len") { Description = "Model mode: sequence length (ONNX models with a symbolic sequence dim; zoo language models)." };
        var m = new Option<int>("--m") { DefaultValueFactory = _ => 256, Description = "Rows (gemm/gemv M, softmax/layernorm rows; attention: sequence length T)." };
        var n = new Option<int>("--n") { DefaultValueFactory = _ => 256, Description = "Columns (gemm/gemv N, row length; allreduce: values per PE; attention: head width D)." };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 256, Description = "Contracted dimension (gemm/gemv; attention: number of heads)." };
        var causal = new Option<bool>("--causal") { Description = "attention: apply the causal mask (fully masked key blocks are skipped)." };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "mesh:16x16", Description = WaferSpec.PresetHelp };
        var precision = new Option<string>("--precision") { DefaultValueFactory = _ => "fp32", Description = "fp32 | bf16 | fp16 for a model (the mixed-precision rewrite); fp32 | bf16 for --kernel (bf16: gemm only)" };
        var trace = new Option<string?>("--trace") { Description = "Write a Chrome trace-event JSON (Perfetto)." };
        var heat = new Option<string?>("--link-heatmap") { Description = "Write an SVG heatmap of wavelets per link." };
        var json = new Option<string?>("--json") { Description = "Write JSON to this file ('-' for stdout)." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var cmd = new Command("simulate", "Run a kernel on the cycle-level fabric simulator and compare with the compiler's cycle model.");
        foreach (var o in new Option[] { kernel, m, n, k, device, precision, trace, heat, json, seed, trainOpt, inferOpt, batchOpt, seqOpt, causal }) cmd.Options.Add(o);
        cmd.Arguments.Add(model);
        cmd.SetAction(r =>
        {
            if (r.GetValue(model) is { } modelArg)
            {
                if (r.GetValue(kernel) is not null) throw new CliErrors.UserError("give either MODEL or --kernel, not both");
                return SimulateModel.Run(modelArg, r.GetValue(device)!, r.GetValue(trainOpt), r.GetValue(inferOpt), r.GetValue(batchOpt), r.GetValue(seqOpt),
                    r.GetValue(precision)!.Trim().ToLowerInvariant(), r.GetValue(trace), r.GetValue(heat), r.GetValue(json));
            }
            string kind = (r.GetValue(kernel) ?? throw new CliErrors.UserError("give MODEL (zoo:NAME or .onnx) or --kernel gemm|gemv|allreduce|softmax|layernorm|attention")).Trim().ToLowerInvariant();
            int M = r.GetValue(m), N = r.GetValue(n), K = r.GetValue(k);
            if (M < 1 || N < 1 || K < 1) throw new CliErrors.UserError("--m, --n and --k must be positive");
            var spec = WaferSpec.Parse(r.GetValue(device)!);
            string prec = r.GetValue(precision)!.Trim().ToLowerInvariant();
            if (prec is not ("fp32" or "bf16")) throw new CliErrors.UserError($"unknown --precision '{prec}'; use fp32 or bf16");
            bool bf16 = prec == "bf16";
            if (r.GetValue(causal) && kind != "attention") throw new CliErrors.UserError("--causal applies to --kernel attention only");
            if (bf16 && kind != "gemm") throw new CliErrors.UserError($"--precision bf16 is simulated for gemm only; use fp32 for {kind}");
            var p = new CostParams(spec, bf16 ? Precision.Bf16 : Precision.Fp32);
            var sim = new FabricSimulator(spec, null, new FabricOptions { Trace = r.GetValue(trace) is not null });
            var rng = new Random(r.GetValue(seed));
            float[] Rand(int len) { var a = new float[len]; for (int i = 0; i < len; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
            var sw = Stopwatch.StartNew();
            KernelRun run; double predicted; float[] reference; Region region; string shape;
            switch (kind)
            {
                case "gemm":
                {
                    int s = Math.Min(spec.Width, spec.Height);
                    region = new Region(0, 0, s, s);
                    var a = Rand(M * K); var b = Rand(K * N);
                    var type = bf16 ? DType.BFloat16 : DType.Float32;
                    // the algorithm the compiler picks (the shift variant is simulated in fp32)
                    var pick = GemmKernel.Single(M, N, K, s, s, p);
                    bool shift = pick.Algorithm == "meshgemm-shift" && !bf16;
                    run = shift ? MeshGemmProgram.Run(sim, 0, 0, s, a, b, M, K, N) : SummaGemmProgram.Run(sim, 0, 0, s, a, b, M, K, N, type);
                    predicted = shift ? pick.Cycles : GemmKernel.Summa(M, N, K, s, s, p).Cycles;
                    if (bf16) { a = RoundBf16(a); b = RoundBf16(b); }
                    reference = MatMul(a, b, M, K, N);
                    shape = $"{M}x{K}x{N} {(shift ? "MeshGEMM shift" : "SUMMA")} on {s}x{s}";
                    break;
                }
                case "gemv":
                {
                    region = new Region(0, 0, spec.Width, spec.Height);
                    var x = Rand(M * K); var w = Rand(K * N);
                    run = GemvProgram.Run(sim, region, x, w, M, K, N);
                    predicted = KernelLibrary.Gemv.Raw(new KernelWork { Batch = 1, M = M, K = K, N = N, SharedB = true }, spec.Width, spec.Height, p).Cycles;
                    reference = MatMul(x, w, M, K, N);
                    shape = $"{M}x{K}x{N} on {spec.Width}x{spec.Height}";
                    break;
                }
                case "allreduce":
                {
                    region = new Region(0, 0, spec.Width, spec.Height);
                    int len = N;
                    ulong sd = (ulong)r.GetValue(seed);
                    float V(int i, int j) => (float)(((ulong)i * 2654435761UL + (ulong)j * 40503UL + sd) % 1000) / 1000f;
                    run = AllReduceProgram.Run(sim, region, len, V);
                    predicted = MeshKernel.CenterAllReduce(spec.Width, spec.Height, len, p);
                    var sum = new double[len];
                    for (int i = 0; i < spec.Width * spec.Height; i++) for (int j = 0; j < len; j++) sum[j] += V(i, j);
                    reference = sum.Select(v => (float)v).ToArray();
                    shape = $"{len} floats per PE on {spec.Width}x{spec.Height}";
                    break;
                }
                case "softmax":
                case "layernorm":
                {
                    int h = Math.Min(spec.Height, M);
                    region = new Region(0, 0, spec.Width, h);
                    var x = Rand(M * N);
                    if (kind == "softmax")
                    {
                        run = SoftmaxProgram.Run(sim, region, x, M, N);
                        predicted = KernelLibrary.Softmax.Raw(new KernelWork { Rows = M, RowLength = N, Flops = 5.0 * M * N, RowReductions = 2 }, region.Width, h, p).Cycles;
                        reference = CpuSoftmax(x, M, N);
                    }
                    else
                    {
                        var g = Rand(N); var b = Rand(N);
                        run = NormProgram.Run(sim, region, x, M, N, g, b, rms: false);
                        predicted = KernelLibrary.Norm.Raw(new KernelWork { Rows = M, RowLength = N, Flops = 8.0 * M * N, RowReductions = 2 }, region.Width, h, p).Cycles;
                        reference = CpuLayerNorm(x, g, b, M, N);
                    }
                    shape = $"{M} rows x {N} on {region.Width}x{h}";
                    break;
                }
                case "attention":
                {
                    // --m T, --n D, --k heads; Q, K, V are [heads, T, D]
                    region = new Region(0, 0, spec.Width, spec.Height);
                    bool masked = r.GetValue(causal);
                    long elems = (long)K * M * N;
                    if (elems > 1 << 26) throw new CliErrors.UserError($"attention {K} heads x {M} x {N} is too large to simulate ({elems} elements per tensor); use fewer heads, a shorter --m or a smaller --n");
                    var q = Rand(K * M * N); var kk = Rand(K * M * N); var v = Rand(K * M * N);
                    run = AttentionProgram.Run(sim, region, q, kk, v, K, M, M, N, masked);
                    var plan = AttentionKernel.PlanFused(K, M, M, N, masked, spec.Width, spec.Height, p);
                    predicted = plan.Cycles;
                    reference = CpuAttention(q, kk, v, K, M, N, masked);
                    shape = $"{K} heads x T {M} x D {N}{(masked ? " causal" : "")} on {plan.SubGrids}x[{plan.SubW}x{plan.SubH}]";
                    break;
                }
                default:
                    throw new CliErrors.UserError($"unknown --kernel '{kind}'; use gemm, gemv, allreduce, softmax, layernorm or attention");
            }
            double wall = sw.Elapsed.TotalSeconds;
            var report = new SimulateReport();
            report.Compare(run.Output, reference);
            var d = new Dictionary<string, object?>
            {
                ["kernel"] = kind, ["shape"] = shape, ["device"] = spec.Name, ["precision"] = prec,
                ["pes"] = region.PeCount, ["tasks"] = run.Stats.Tasks,
                ["peak_working_set_bytes"] = Process.GetCurrentProcess().PeakWorkingSet64,
            };
            if (kind == "allreduce") { int diam = spec.Width + spec.Height - 2; d["diameter"] = diam; d["cycles_over_diameter"] = diam > 0 ? (double)run.Cycles / diam : 0; }
            return report.Write(d, sim, run.Stats, run.Cycles, predicted, region.PeCount, wall, r.GetValue(trace), r.GetValue(heat), r.GetValue(json),
                $"{kind} {shape} on {spec.Name} ({prec})", []);
        });
        return cmd;
    }

    private static float[] RoundBf16(float[] a) => a.Select(v => Float16Bits.FromBFloat16(Float16Bits.ToBFloat16(v))).ToArray();

    // CPU oracles: the graph ops' own kernels (eager Frontend tensors), not a second implementation
    private static float[] MatMul(float[] a, float[] b, int m, int k, int n) => F.MatMul(Tensor.FromArray(a, m, k), Tensor.FromArray(b, k, n)).ToArray();

    private static float[] CpuSoftmax(float[] x, int rows, int len) => F.Softmax(Tensor.FromArray(x, rows, len), -1).ToArray();

    private static float[] CpuLayerNorm(float[] x, float[] g, float[] b, int rows, int len) =>
        F.LayerNorm(Tensor.FromArray(x, rows, len), Tensor.FromArray(g, len), Tensor.FromArray(b, len)).ToArray();

    private static float[] CpuAttention(float[] q, float[] k, float[] v, int heads, int t, int d, bool causal) =>
        F.ScaledDotProductAttention(Tensor.FromArray(q, heads, t, d), Tensor.FromArray(k, heads, t, d), Tensor.FromArray(v, heads, t, d), causal).ToArray();
}
