using WaferSharp.Compiler;
using WaferSharp.Compiler.Kernels;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Compiler;

public class CompilerTests
{
    // A random MLP-like training step: Linear → (Gelu|Relu) chains, a reduction loss, SGD-like update via Adam op.
    private static WaferSharp.Graph.Graph RandomStep(Random rng, bool train)
    {
        var b = new GraphBuilder();
        int batch = rng.Next(1, 9) * 4, width = rng.Next(1, 5) * 32;
        var x = b.Input("x", TensorType.F32(batch, width));
        var h = x;
        int layers = rng.Next(1, 4);
        var ws = new List<Value>();
        for (int i = 0; i < layers; i++)
        {
            int outW = rng.Next(1, 5) * 32;
            var w = b.Parameter($"l{i}.weight", TensorType.F32(outW, width));
            var bias = b.Parameter($"l{i}.bias", TensorType.F32(outW));
            ws.Add(w); ws.Add(bias);
            h = b.Op("Linear", h, w, bias);
            h = b.Op(rng.Next(2) == 0 ? "Gelu" : "Relu", h);
            width = outW;
        }
        var loss = b.ReduceMean(b.Mul(h, h), [0, 1], false);
        b.Output("loss", loss);
        if (train)
        {
            var grads = Autodiff.Grad(b, loss, ws.ToArray());
            var lr = b.Input("lr", TensorType.F32());
            for (int i = 0; i < ws.Count; i++) b.Update(ws[i], b.Sub(ws[i], b.Mul(grads[i], lr)));
        }
        return b.Graph;
    }

    internal static void CheckInvariants(WaferProgram prog, WaferSpec spec, DefectMap? defects)
    {
        var area = new RegionRect(spec.ProgramX, spec.ProgramY, spec.ProgramWidth, spec.ProgramHeight);
        var regions = prog.Regions;
        for (int i = 0; i < regions.Count; i++)
        {
            var r = regions[i].Rect;
            Assert.True(r.W > 0 && r.H > 0);
            Assert.True(r.X >= area.X && r.Y >= area.Y && r.X + r.W <= area.X + area.W && r.Y + r.H <= area.Y + area.H, $"region {i} {r} outside {area}");
            foreach (var t in regions[i].Tiles) Assert.Equal(0, defects?.CountDead(t.X, t.Y, t.W, t.H) ?? 0);
            Assert.Equal(regions[i].Rect.Pes - (defects?.CountDead(r.X, r.Y, r.W, r.H) ?? 0), regions[i].Tiles.Sum(t => t.Pes));
            if (prog.Mode == "layer-pipelined")
                for (int j = i + 1; j < regions.Count; j++)
                    if (regions[j].System == regions[i].System) Assert.False(r.Overlaps(regions[j].Rect), $"regions {i} and {j} overlap");
            Assert.True(regions[i].SramBytesPerPe <= spec.PeSramBytes, $"region {i} needs {regions[i].SramBytesPerPe} B per PE");
        }
        Assert.True(prog.SramBytesMaxPerPe <= spec.PeSramBytes);
        Assert.True(prog.ColorsMaxPerPe <= spec.RouterColors, $"{prog.ColorsMaxPerPe} colors");
        if (prog.Mode == "layer-pipelined")
        {
            // every producer→consumer edge between different regions has a route, on live PEs
            var routed = prog.Routes.Select(r => (prog.Kernels[r.From].RegionId, prog.Kernels[r.To].RegionId)).ToHashSet();
            foreach (var k in prog.Kernels)
                foreach (int from in k.Inputs)
                {
                    int a = prog.Kernels[from].RegionId, c = k.RegionId;
                    if (a != c) Assert.Contains((a, c), routed);
                }
            foreach (var route in prog.Routes)
                foreach (var lane in route.Lanes)
                {
                    Assert.All(lane.Colors, c => Assert.InRange(c, 0, spec.UsableColors - 1));
                    for (int i = 0; i + 1 < lane.Path.Count; i++)
                    {
                        var (p, q) = (lane.Path[i], lane.Path[i + 1]);
                        Assert.True(p[0] == q[0] || p[1] == q[1], "paths are made of straight segments");
                        for (int x = Math.Min(p[0], q[0]); x <= Math.Max(p[0], q[0]); x++)
                            for (int y = Math.Min(p[1], q[1]); y <= Math.Max(p[1], q[1]); y++)
                                Assert.False(defects?.IsDead(x, y) ?? false, $"route crosses dead PE ({x},{y})");
                    }
                }
        }
        Assert.True(prog.StepCycles > 0 && double.IsFinite(prog.StepCycles));
    }

    [Fact]
    public void RandomGraphsFabricsAndDefectsKeepThePlacementInvariants()
    {
        var rng = new Random(2024);
        for (int trial = 0; trial < 24; trial++)
        {
            int w = rng.Next(8, 72), h = rng.Next(8, 72);
            var spec = WaferSpec.Mesh(w, h);
            var defects = rng.Next(3) == 0 ? null : DefectMap.Random(w, h, rng.NextDouble() * 0.02, (ulong)trial);
            var g = RandomStep(rng, train: rng.Next(4) != 0);
            var mode = rng.Next(3) switch { 0 => ExecutionMode.Pipelined, 1 => ExecutionMode.WeightStreaming, _ => ExecutionMode.Auto };
            WaferProgram prog;
            try { prog = WaferCompiler.Compile(g, g.Inputs[0].Shape[0], new CompileOptions { Wafer = spec, Defects = defects, Mode = mode }); }
            catch (ModelTooLargeException) { continue; } // a small fabric may not hold the model: that is a valid outcome
            CheckInvariants(prog, spec, defects);
        }
    }

    [Fact]
    public void TrainingStepHasPhasesAndAttentionIsFused()
    {
        var b = new GraphBuilder();
        var q = b.Input("q", TensorType.F32(2, 4, 16, 8));
        var k = b.Parameter("k", TensorType.F32(2, 4, 16, 8));
        var v = b.Parameter("v", TensorType.F32(2, 4, 16, 8));
        var o = Composites.ScaledDotProductAttention(b, q, k, v, causal: true);
        var loss = b.ReduceSum(o, [0, 1, 2, 3], false);
        b.Output("loss", loss);
        var grads = Autodiff.Grad(b, loss, [k, v]);
        b.Update(k, b.Sub(k, grads[0]));
        b.Update(v, b.Sub(v, grads[1]));
        var lg = Lowering.Lower(b.Graph, new CostParams(WaferSpec.Mesh(32, 32), Precision.Bf16));
        var att = Assert.Single(lg.Tasks, t => t.Kernel is AttentionKernel);
        Assert.Equal(Phase.Forward, att.Phase);
        Assert.Equal((8L, 16L, 16L, 8L), (att.Work.Batch, att.Work.M, att.Work.N, att.Work.K));
        Assert.Contains(lg.Tasks, t => t.Phase == Phase.Backward);
        var prog = WaferCompiler.Compile(b.Graph, 2, new CompileOptions { Wafer = WaferSpec.Mesh(32, 32), Mode = ExecutionMode.Pipelined });
        CheckInvariants(prog, WaferSpec.Mesh(32, 32), null);
    }

    [Fact]
    public void TooBigForPipelinedSaysSoAndSuggestsWeightStreaming()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4, 2048));
        var w = b.Parameter("w", TensorType.F32(2048, 2048)); // 16 MiB of fp32 master weights + grads, 8x8 fabric holds 3 MiB
        var y = b.Op("Linear", x, w);
        var loss = b.ReduceMean(y, [0, 1], false);
        b.Output("loss", loss);
        b.Update(w, b.Sub(w, Autodiff.Grad(b, loss, [w])[0]));
        var opts = new CompileOptions { Wafer = WaferSpec.Mesh(8, 8), Mode = ExecutionMode.Pipelined };
        var e = Assert.Throws<ModelTooLargeException>(() => WaferCompiler.Compile(b.Graph, 4, opts));
        Assert.Contains("weight-streaming", e.Message);
        // auto falls back to weight streaming and says why
        var prog = WaferCompiler.Compile(b.Graph, 4, opts with { Mode = ExecutionMode.Auto });
        Assert.Equal("weight-streaming", prog.Mode);
        Assert.Contains("does not fit", prog.ModeReason);
        Assert.False(string.IsNullOrEmpty(prog.Bottleneck));
    }

    private sealed class Mystery : OpDef
    {
        public override string Name => "MysteryOp";
        public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs) => [inputs[0]];
        public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) => [inputs[0]];
    }

    [Fact]
    public void OpWithoutAMeshKernelIsNamed()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4, 4));
        var y = b.Emit(new Mystery(), Attrs.Empty, [x])[0];
        b.Output("y", y);
        var e = Assert.Throws<UnsupportedOpException>(() => WaferCompiler.Compile(b.Graph, 4, new CompileOptions { Wafer = WaferSpec.Mesh(8, 8) }));
        Assert.Contains("MysteryOp", e.Message);
        Assert.Contains("no mesh kernel", e.Message);
    }

    [Fact]
    public void ProgramJsonHasTheFieldsAndRoundTrips()
    {
        var g = RandomStep(new Random(5), train: true);
        var prog = WaferCompiler.Compile(g, g.Inputs[0].Shape[0], new CompileOptions { Wafer = WaferSpec.Mesh(32, 32), Mode = ExecutionMode.Pipelined, SeqLen = 8 });
        var json = prog.ToJson();
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var root = doc.RootElement;
        foreach (var f in new[] { "device", "mode", "fabric", "pes_used", "sram_bytes_max_per_pe", "step_cycles", "step_time_s", "samples_per_s", "tokens_per_s", "tflops", "utilization", "bottleneck", "kernels", "host_io_s", "routes", "regions", "schedule" })
            Assert.True(root.TryGetProperty(f, out _), $"missing {f}");
        foreach (var f in new[] { "width", "height", "usable_pes", "defective_pes" }) Assert.True(root.GetProperty("fabric").TryGetProperty(f, out _), f);
        var k0 = root.GetProperty("kernels")[0];
        foreach (var f in new[] { "name", "op", "algorithm", "region", "cycles", "sram_bytes_per_pe" }) Assert.True(k0.TryGetProperty(f, out _), f);
        foreach (var f in new[] { "x", "y", "w", "h" }) Assert.True(k0.GetProperty("region").TryGetProperty(f, out _), f);
        var back = WaferProgram.FromJson(json);
        Assert.Equal(prog.StepCycles, back.StepCycles);
        Assert.Equal(prog.Kernels.Count, back.Kernels.Count);
        Assert.Equal(prog.Routes.Sum(r => r.Lanes.Count), back.Routes.Sum(r => r.Lanes.Count));
        var html = HtmlReport.Render(prog);
        Assert.Contains("<svg", html);
        Assert.Contains("<title>region", html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void MoreSystemsSplitTheBatchInWeightStreaming()
    {
        var g = RandomStep(new Random(9), train: true);
        int batch = g.Inputs[0].Shape[0];
        var src = new ModelSource { BatchSize = batch * 4, Trace = n => g, Rebatchable = true };
        var one = WaferCompiler.Compile(src, new CompileOptions { Wafer = WaferSpec.Mesh(16, 16), Mode = ExecutionMode.WeightStreaming, Systems = 4 }, inference: false);
        Assert.Equal("weight-streaming", one.Mode);
        Assert.Equal(batch, one.Schedule.MicrobatchSize); // each of 4 systems takes a quarter
        var e = Assert.Throws<ArgumentException>(() => WaferCompiler.Compile(src, new CompileOptions { Wafer = WaferSpec.Mesh(16, 16), Mode = ExecutionMode.Pipelined, Systems = 2 }, false));
        Assert.Contains("weight-streaming", e.Message);
    }
}
