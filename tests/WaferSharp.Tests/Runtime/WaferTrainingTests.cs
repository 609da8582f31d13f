using System.Text.Json;
using WaferSharp.Graph;
using WaferSharp.Runtime;
using WaferSharp.Tensors;
using WaferSharp.Training;
using static WaferSharp.Tests.Runtime.RuntimeTestModels;

namespace WaferSharp.Tests.Runtime;

/// <summary>Training on wafer devices: same numbers as the CPU reference, plus device time from the compiled program.</summary>
public class WaferTrainingTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static WaferTrainingTests() => WaferRuntime.Register();

    private static (TrainResult R, List<StepMetrics> M, Trainer T) Fit(Module model, string device, DataLoader data, int steps, int systems = 1,
        string precision = "fp32", string? metrics = null, int accumulation = 1, DataLoader? eval = null)
    {
        var opt = new AdamW(model.Parameters(), lr: 3e-3);
        var t = new Trainer(model, opt, new TrainerConfig
        {
            Device = device, MaxSteps = steps, Progress = "none", Systems = systems, Precision = precision, MetricsPath = metrics,
            GradientAccumulationSteps = accumulation, Loss = model is Mlp ? "mse" : "model", EvalEvery = eval is null ? 0 : 3,
        });
        var ms = new List<StepMetrics>();
        t.StepCompleted += ms.Add;
        return (t.Fit(data, eval), ms, t);
    }

    [Fact]
    public void MlpOnWse3EqualsCpuInFloat32AndReportsDeviceTime()
    {
        var (x, y) = Regression(64, 16, 1);
        var cpuModel = new Mlp(16, 32);
        var waferModel = Twin(cpuModel, new Mlp(16, 32));
        string metrics = Path.Combine(TempDir("mlp"), "m.jsonl");
        var (ex, ey) = Regression(24, 16, 12);
        var cpu = Fit(cpuModel, "cpu", new DataLoader(x, y, 16), 6, eval: new DataLoader(ex, ey, 8));
        var wafer = Fit(waferModel, "wse3", new DataLoader(x, y, 16), 6, metrics: metrics, eval: new DataLoader(ex, ey, 8));
        Assert.Equal(cpu.M.Select(m => m.EvalLoss), wafer.M.Select(m => m.EvalLoss));
        Assert.NotNull(wafer.M[2].EvalLoss);

        Assert.Equal(cpu.R.Losses, wafer.R.Losses); // same functional executor: bit-identical
        AssertSameWeights(cpuModel, waferModel);
        Assert.True(wafer.R.Losses[^1] < wafer.R.Losses[0]);
        var m = wafer.M[^1];
        Assert.True(m.Device.DeviceSeconds > 0);
        Assert.Contains(m.Device.Mode, new[] { "layer-pipelined", "weight-streaming" });
        Assert.True(m.PercentOfPeak is > 0 and < 100, $"{m.PercentOfPeak}");
        Assert.Equal(16, m.Samples);
        Assert.Null(cpu.M[^1].Device.DeviceSeconds);

        var lines = File.ReadAllLines(metrics);
        Assert.Equal(6, lines.Length);
        using var doc = JsonDocument.Parse(lines[^1]);
        var root = doc.RootElement;
        foreach (var key in new[] { "host_s", "device_s", "device_samples_per_s", "device_tflops", "percent_of_peak", "mode" })
            Assert.True(root.TryGetProperty(key, out _), $"metrics line lacks {key}: {lines[^1]}");
        Assert.Equal(16 / root.GetProperty("device_s").GetDouble(), root.GetProperty("device_samples_per_s").GetDouble(), 6);
    }

    [Fact]
    public void GptBlockOnWaferEqualsCpuInFloat32WithTokensPerSecond()
    {
        var (x, y) = Tokens(16, 12, TinyGpt.Vocab, 2);
        var cpuModel = Gpt(7);
        var waferModel = Twin(cpuModel, Gpt(8));
        var cpu = Fit(cpuModel, "cpu", new DataLoader(x, y, 8), 4);
        var wafer = Fit(waferModel, "mesh:64x64", new DataLoader(x, y, 8), 4);
        Assert.Equal(cpu.R.Losses, wafer.R.Losses);
        AssertSameWeights(cpuModel, waferModel);
        var m = wafer.M[^1];
        Assert.Equal(12, m.TokensPerSample);
        Assert.Equal(m.DeviceSamplesPerSecond!.Value * 12, m.DeviceTokensPerSecond!.Value, 6);
    }

    [Fact]
    public void GradientAccumulationOnWaferEqualsCpuAndTimesEveryMicrobatch()
    {
        var (x, y) = Regression(64, 16, 14);
        var cpuModel = new Mlp(16, 32);
        var waferModel = Twin(cpuModel, new Mlp(16, 32));
        var cpu = Fit(cpuModel, "cpu", new DataLoader(x, y, 8), 3, accumulation: 2);
        var wafer = Fit(waferModel, "wse3", new DataLoader(x, y, 8), 3, accumulation: 2);
        Assert.Equal(cpu.R.Losses, wafer.R.Losses);
        AssertSameWeights(cpuModel, waferModel);
        var single = Fit(Twin(cpuModel, new Mlp(16, 32)), "wse3", new DataLoader(x, y, 8), 1);
        Assert.Equal(2 * single.M[0].Device.DeviceSeconds!.Value, wafer.M[0].Device.DeviceSeconds!.Value, 12);
    }

    [Fact]
    public void MultiSystemLossesEqualOneSystemAtTheSameGlobalBatch()
    {
        var (x, y) = Regression(64, 16, 3);
        var one = new Mlp(16, 32);
        var four = Twin(one, new Mlp(16, 32));
        var r1 = Fit(one, "wse3", new DataLoader(x, y, 32), 6, systems: 1);
        var r4 = Fit(four, "wse3", new DataLoader(x, y, 32), 6, systems: 4);
        // Same math; only the summation order of the batch mean differs (per shard, then over shards), so the
        // losses agree to float32 rounding: relative 1e-6 (~16 ulps) over 6 AdamW steps; measured 4.4e-8.
        double worst = 0;
        for (int i = 0; i < r1.R.Losses.Count; i++)
        {
            double rel = Math.Abs(r1.R.Losses[i] - r4.R.Losses[i]) / Math.Abs(r1.R.Losses[i]);
            worst = Math.Max(worst, rel);
            Assert.True(rel <= 1e-6, $"step {i + 1}: {r1.R.Losses[i]} vs {r4.R.Losses[i]}");
        }
        output.WriteLine($"largest relative loss difference, 4 systems vs 1: {worst:E2}");
        // the four systems really ran shards: the traced per-system graph takes a quarter of the global batch
        Assert.Equal(32, r1.T.StepGraph!.Inputs.First(v => v.Rank == 2).Shape[0]);
        Assert.Equal(8, r4.T.StepGraph!.Inputs.First(v => v.Rank == 2).Shape[0]);
        Assert.Equal("weight-streaming", r4.M[^1].Device.Mode);
        Assert.True(r4.M[^1].Device.PeakFlopsPerSecond > 3.9 * r1.M[^1].Device.PeakFlopsPerSecond!.Value);
    }

    [Fact]
    public void ProgramIsCompiledOncePerGraphAndDevice()
    {
        var (x, y) = Regression(32, 8, 4);
        var a = new Mlp(8, 24);
        var b = Twin(a, new Mlp(8, 24));
        Fit(a, "mesh:48x48", new DataLoader(x, y, 8), 2);
        var before = ProgramCache.Stats;
        Fit(b, "mesh:48x48", new DataLoader(x, y, 8), 2);
        var after = ProgramCache.Stats;
        Assert.True(after.Hits > before.Hits, "the second trainer's identical step graph must hit the program cache");
    }

    [Fact]
    public void MixedPrecisionRoundsTo16BitsAndKeepsFp32MasterWeights()
    {
        var (x, y) = Regression(64, 16, 5);
        var f32 = new Mlp(16, 32);
        var f32Start = Twin(f32, new Mlp(16, 32));
        var bf16 = Twin(f32, new Mlp(16, 32));
        var fp16 = Twin(f32, new Mlp(16, 32));
        var r32 = Fit(f32, "wse3", new DataLoader(x, y, 16), 8);
        var rbf = Fit(bf16, "wse3", new DataLoader(x, y, 16), 8, precision: "bf16");
        var rfp = Fit(fp16, "wse3", new DataLoader(x, y, 16), 8, precision: "fp16");
        // bf16 keeps 8 mantissa bits: the loss moves by ~1e-3 relative, not more.
        for (int i = 0; i < 8; i++)
        {
            Assert.True(Math.Abs(rbf.R.Losses[i] - r32.R.Losses[i]) <= 2e-2 * r32.R.Losses[i], $"bf16 step {i + 1}: {rbf.R.Losses[i]} vs {r32.R.Losses[i]}");
            Assert.True(Math.Abs(rfp.R.Losses[i] - r32.R.Losses[i]) <= 5e-3 * r32.R.Losses[i], $"fp16 step {i + 1}: {rfp.R.Losses[i]} vs {r32.R.Losses[i]}");
        }
        Assert.NotEqual(r32.R.Losses, rbf.R.Losses);
        // fp16 over two systems: the shards' backward passes share the update runner's loss scale.
        var fp16x2 = Twin(f32Start, new Mlp(16, 32));
        var r2 = Fit(fp16x2, "wse3", new DataLoader(x, y, 16), 8, systems: 2, precision: "fp16");
        for (int i = 0; i < 8; i++)
            Assert.True(Math.Abs(r2.R.Losses[i] - r32.R.Losses[i]) <= 5e-3 * r32.R.Losses[i], $"fp16 x2 step {i + 1}: {r2.R.Losses[i]} vs {r32.R.Losses[i]}");
        Assert.True(rbf.R.Losses[^1] < rbf.R.Losses[0]);
        // Master weights stay float32 and are not all representable in bf16 (updates accumulate below bf16's resolution).
        var w = bf16.Parameters()[0].Data;
        Assert.Equal(DType.Float32, w.DType);
        Assert.Contains(w.ToFloatArray(), v => (BitConverter.SingleToInt32Bits(v) & 0xFFFF) != 0);
    }

    [Fact]
    public void MixedPrecisionGraphRoundsActivationsAndScalesTheSeed()
    {
        var model = new Mlp(4, 8);
        var opt = new AdamW(model.Parameters());
        var step = TrainStep.Build(model, opt, (m, a, b) => F.MseLoss(m.Forward(a), b),
            new TensorType(DType.Float32, new Shape(2, 4)), new TensorType(DType.Float32, new Shape(2, 4)));
        var mp = MixedPrecision.Rewrite(step.Graph, DType.BFloat16);
        Assert.NotNull(mp.LossScale);
        Assert.True(mp.HasProbe);
        Assert.Contains(mp.Graph.Nodes, n => n.Op.Name == "Cast" && n.Output.DType == DType.BFloat16);
        // Optimizer updates read float32 master weights directly.
        Assert.All(mp.Graph.Nodes.Where(n => n.Scope?.StartsWith("optimizer") == true), n =>
            Assert.All(n.Inputs.Where(v => v.Kind == ValueKind.Parameter), v => Assert.Equal(DType.Float32, v.DType)));
        Assert.Equal(step.Graph.Updates.Count, mp.Graph.Updates.Count);
    }

    [Fact]
    public void Fp16OverflowSkipsTheStepAndHalvesTheLossScale()
    {
        // Targets of 1e3 make the first gradients ~1e3; times the initial scale 65536 they overflow fp16 (max 65504).
        var model = new Mlp(8, 16);
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var opt = new AdamW(model.Parameters(), lr: 1e-3);
        var xt = new TensorType(DType.Float32, new Shape(4, 8));
        var step = TrainStep.Build(model, opt, (m, a, b) => F.MseLoss(m.Forward(a), b), xt, xt);
        var runner = (WaferRunner)Devices.Create("mesh:32x32", step.Graph, new DeviceContext { Precision = "fp16", StepBatch = 4 });
        var (x, _) = Regression(4, 8, 6);
        var y = DenseTensor.Full(new Shape(4, 8), 1000f);
        var r = runner.Run(step.Feeds(opt, new Batch(x, y), 0, opt.ScalarValues(1, 1e-3)));
        Assert.Equal(1, runner.Scaler!.SkippedSteps);
        Assert.Equal(32768f, runner.Scaler.Scale);
        Assert.Contains("skipped", runner.LastRun.Mode);
        foreach (var (p, name, v, _) in step.Params) Assert.True(r.Updates[v].BitEquals(before[name]), $"{name} changed in a skipped step");
        Assert.True(double.IsFinite(r.Outputs["loss"].Item()));
    }

    [Fact]
    public void LargeBatchScalingRampsToTheTarget()
    {
        var lin = LargeBatchScaling.Create("linear", 32, 10);
        Assert.Equal(8.0, lin.TargetFactor(256));
        Assert.Equal(1 + 7 * 0.5, lin.Factor(5, 256), 12);
        Assert.Equal(8.0, lin.Factor(10, 256));
        Assert.Equal(Math.Sqrt(8), LargeBatchScaling.Create("sqrt", 32, 0).Factor(1, 256), 12);
        Assert.Throws<ArgumentException>(() => LargeBatchScaling.Create("cubic", 32, 0));

        var (x, y) = Regression(64, 8, 9);
        var model = new Mlp(8, 8);
        var lrs = new List<double>();
        var t = new Trainer(model, new SGD(model.Parameters(), 0.01), new TrainerConfig { Device = "wse3", MaxSteps = 3, Progress = "none", LrScaling = LargeBatchScaling.Create("linear", 16, 2) });
        t.StepCompleted += m => lrs.Add(m.LearningRate);
        t.Fit(new DataLoader(x, y, 64));
        Assert.Equal(new[] { 0.01 * 2.5, 0.04, 0.04 }, lrs.Select(l => Math.Round(l, 12)));
    }
}
