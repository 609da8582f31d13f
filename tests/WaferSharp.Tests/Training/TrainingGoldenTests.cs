using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;
using WaferSharp.Training;

namespace WaferSharp.Tests.Training;

/// <summary>30-step MLP training runs against PyTorch (tools/golden/models.py): losses and final weights.</summary>
public class TrainingGoldenTests
{
    internal sealed class GoldenMlp : Module
    {
        public readonly Sequential layers = new(new WaferSharp.Linear(16, 32), new GELU(), new WaferSharp.Linear(32, 16));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    private static (GoldenMlp Model, IReadOnlyDictionary<string, DenseTensor> Data) Load(string file)
    {
        var d = Npz.Read(TestUtil.Fixture("golden", file));
        var m = new GoldenMlp();
        m.LoadStateDict(m.NamedParameters().ToDictionary(p => p.Name, p => d["init." + p.Name]));
        return (m, d);
    }

    [Theory]
    [InlineData("mlp_adamw.npz")]
    [InlineData("mlp_adam.npz")]
    [InlineData("mlp_sgd.npz")]
    public void LossCurveAndWeightsMatchPyTorch(string file)
    {
        var (m, d) = Load(file);
        Optimizer opt = file switch
        {
            "mlp_adamw.npz" => new AdamW(m.Parameters(), lr: 1e-3),
            "mlp_adam.npz" => new Adam(m.Parameters(), lr: 1e-3),
            _ => new SGD(m.Parameters(), lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true),
        };
        var trainer = new Trainer(m, opt, new TrainerConfig { MaxSteps = 30, Progress = "none" });
        var result = trainer.Fit(new DataLoader(d["X"], d["Y"], batchSize: 16));
        var expected = d["losses"].ToFloatArray();
        Assert.Equal(30, result.Losses.Count);
        for (int i = 0; i < 30; i++)
            Assert.True(Math.Abs(result.Losses[i] - expected[i]) <= 1e-5 * Math.Abs(expected[i]) + 1e-7, $"step {i + 1}: loss {result.Losses[i]} vs PyTorch {expected[i]}");
        foreach (var (name, p) in m.NamedParameters())
            TestUtil.AssertClose(d["final." + name], p.Data, 1e-5, $"{file} final {name}");
    }

    [Fact]
    public void ResumeFromCheckpointGivesBitIdenticalLosses()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ws-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (m1, d) = Load("mlp_adamw.npz");
            var full = new Trainer(m1, new AdamW(m1.Parameters()), new TrainerConfig { MaxSteps = 20, Progress = "none" })
                .Fit(new DataLoader(d["X"], d["Y"], 16, shuffle: true, seed: 7));

            var (m2, _) = Load("mlp_adamw.npz");
            new Trainer(m2, new AdamW(m2.Parameters()), new TrainerConfig { MaxSteps = 10, Progress = "none", CheckpointDir = dir, CheckpointEvery = 5 })
                .Fit(new DataLoader(d["X"], d["Y"], 16, shuffle: true, seed: 7));

            var (m3, _) = Load("mlp_adamw.npz"); // fresh weights: everything must come from the checkpoint
            var resumed = new Trainer(m3, new AdamW(m3.Parameters()), new TrainerConfig { MaxSteps = 20, Progress = "none", CheckpointDir = dir, Resume = true })
                .Fit(new DataLoader(d["X"], d["Y"], 16, shuffle: true, seed: 7));
            Assert.Equal(10, resumed.ResumedFrom);
            Assert.Equal(full.Losses.Skip(10).ToArray(), resumed.Losses.ToArray());
            foreach (var ((n, a), (_, b)) in m1.NamedParameters().Zip(m3.NamedParameters()))
                Assert.True(a.Data.BitEquals(b.Data), $"{n} differs after resume");
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void CorruptCheckpointIsRefusedAndPreviousOneUsed()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ws-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (m, d) = Load("mlp_adamw.npz");
            new Trainer(m, new AdamW(m.Parameters()), new TrainerConfig { MaxSteps = 10, Progress = "none", CheckpointDir = dir, CheckpointEvery = 5 })
                .Fit(new DataLoader(d["X"], d["Y"], 16));
            var newest = Path.Combine(dir, "step-00000010.safetensors");
            var bytes = File.ReadAllBytes(newest);
            bytes[^3] ^= 0x5A;
            File.WriteAllBytes(newest, bytes);
            var (m2, _) = Load("mlp_adamw.npz");
            var warnings = new List<string>();
            var mgr = new CheckpointManager(dir) { Warn = warnings.Add };
            var info = mgr.RestoreLatest(m2, new AdamW(m2.Parameters()));
            Assert.NotNull(info);
            Assert.Equal(5, info!.Step);
            Assert.Contains(warnings, w => w.Contains("checksum"));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void GradientAccumulationMatchesOneLargeBatch()
    {
        var (m1, d) = Load("mlp_adamw.npz");
        var big = new Trainer(m1, new SGD(m1.Parameters(), lr: 0.1), new TrainerConfig { MaxSteps = 5, Progress = "none" })
            .Fit(new DataLoader(d["X"], d["Y"], 32));
        var (m2, _) = Load("mlp_adamw.npz");
        var acc = new Trainer(m2, new SGD(m2.Parameters(), lr: 0.1), new TrainerConfig { MaxSteps = 5, Progress = "none", GradientAccumulationSteps = 2 })
            .Fit(new DataLoader(d["X"], d["Y"], 16));
        for (int i = 0; i < 5; i++) Assert.Equal(big.Losses[i], acc.Losses[i], 5);
        foreach (var ((n, a), (_, b)) in m1.NamedParameters().Zip(m2.NamedParameters()))
            TestUtil.AssertClose(a.Data, b.Data, 1e-5, n);
    }

    [Fact]
    public void ClippingBoundsTheUpdate()
    {
        var (m, d) = Load("mlp_adamw.npz");
        var before = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Data.Clone());
        var norms = new List<double>();
        var t = new Trainer(m, new SGD(m.Parameters(), lr: 1.0), new TrainerConfig { MaxSteps = 1, Progress = "none", ClipGradNorm = 1e-3 });
        t.StepCompleted += s => norms.Add(s.GradNorm ?? double.NaN);
        t.Fit(new DataLoader(d["X"], d["Y"], 16));
        double moved = 0;
        foreach (var (n, p) in m.NamedParameters())
        {
            var a = before[n].AsFloat(); var b = p.Data.AsFloat();
            for (int i = 0; i < a.Length; i++) moved += (a[i] - b[i]) * (double)(a[i] - b[i]);
        }
        Assert.True(norms[0] > 1e-3);
        Assert.Equal(1e-3, Math.Sqrt(moved), 6);
    }

    [Fact]
    public void NanLossStopsWithAClearMessage()
    {
        var (m, d) = Load("mlp_adamw.npz");
        var x = d["X"].Clone();
        x.AsFloat()[3] = float.NaN;
        var e = Assert.Throws<InvalidOperationException>(() =>
            new Trainer(m, new AdamW(m.Parameters()), new TrainerConfig { MaxSteps = 2, Progress = "none" }).Fit(new DataLoader(x, d["Y"], 16)));
        Assert.Contains("NaN at step 1", e.Message);
    }
}
