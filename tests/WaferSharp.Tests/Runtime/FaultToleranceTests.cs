using System.Diagnostics;
using WaferSharp.Runtime;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;
using WaferSharp.Training;
using static WaferSharp.Tests.Runtime.RuntimeTestModels;

namespace WaferSharp.Tests.Runtime;

/// <summary>Faults: simulated system failures recover to the uninterrupted run; SIGKILL never leaves a bad checkpoint.</summary>
public class FaultToleranceTests
{
    static FaultToleranceTests() => WaferRuntime.Register();

    [Fact]
    public void FailAtStepRestartsFromTheLastCheckpointAndEndsWithTheUninterruptedWeights()
    {
        var (x, y) = Regression(64, 12, 11);
        var reference = new Mlp(12, 24);
        var faulty = Twin(reference, new Mlp(12, 24));
        var cfg = new TrainerConfig { Device = "wse3", MaxSteps = 9, Progress = "none", CheckpointEvery = 2 };

        var plain = new Trainer(reference, new AdamW(reference.Parameters(), lr: 5e-3), cfg).Fit(new DataLoader(x, y, 16, shuffle: true, seed: 3));

        var logs = new List<string>();
        var ft = new FaultTolerantTrainer(faulty, new AdamW(faulty.Parameters(), lr: 5e-3), cfg with { CheckpointDir = TempDir("fail") }) { Log = logs.Add };
        var r = ft.Fit(new DataLoader(x, y, 16, shuffle: true, seed: 3), [1, 5, 8]);

        AssertSameWeights(reference, faulty);
        Assert.Equal(plain.Losses, r.Losses);
        Assert.Equal(9, r.Steps);
        Assert.Equal([(1L, 0L, 1L), (5L, 4L, 1L), (8L, 6L, 2L)], r.Recoveries.Select(c => (c.FailedAtStep, c.RestoredStep, c.LostSteps)));
        Assert.True(r.Recoveries.All(c => c.LostDeviceSeconds > 0));
        Assert.Contains(logs, l => l.Contains("restarting from checkpoint step 6") && l.Contains("lost 2 step(s)"));
    }

    [Fact]
    public void FailAtStepNeedsACheckpointFolderAndRefusesOldCheckpointsWithoutResume()
    {
        var m = new Mlp(4, 4);
        var e = Assert.Throws<ArgumentException>(() => new FaultTolerantTrainer(m, new AdamW(m.Parameters()), new TrainerConfig { Device = "wse3", MaxSteps = 2, Progress = "none" })
            .Fit(new DataLoader(DenseTensor.Zeros(4, 4), DenseTensor.Zeros(4, 4), 2), [1]));
        Assert.Contains("--checkpoint-dir", e.Message);
        var dir = TempDir("old");
        new CheckpointManager(dir).Save(m, new AdamW(m.Parameters()), 3, 0, 3);
        var e2 = Assert.Throws<ArgumentException>(() => new FaultTolerantTrainer(m, new AdamW(m.Parameters()), new TrainerConfig { Device = "wse3", MaxSteps = 2, Progress = "none", CheckpointDir = dir })
            .Fit(new DataLoader(DenseTensor.Zeros(4, 4), DenseTensor.Zeros(4, 4), 2), [1]));
        Assert.Contains("--resume", e2.Message);
    }

    private static Process Start(string dir, string outDir, int steps, bool resume)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "wafer.dll"), "train", Fixture("mlp_gelu.onnx"), "--data", Fixture("mlp_gelu_train.npz"),
            "--batch-size", "16", "--steps", steps.ToString(), "--device", "wse3", "--checkpoint-dir", dir, "--checkpoint-every", "1", "--output-dir", outDir, "--lr", "1e-2" })
            psi.ArgumentList.Add(a);
        if (resume) psi.ArgumentList.Add("--resume");
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        return p;
    }

    private static string Fixture(string name) => TestUtil.Fixture("onnx", name);

    [Fact]
    public void SigkillAtRandomMomentsNeverLeavesABadCheckpointAndResumeIsBitIdentical()
    {
        const int steps = 120;
        string dir = TempDir("kill"), outKilled = TempDir("kill-out"), outPlain = TempDir("plain-out");
        var rng = new Random(20261125);
        var budget = Stopwatch.StartNew();
        int kills = 0;
        long lastStep = -1;
        var model = new WaferSharp.Onnx.OnnxModule(WaferSharp.Onnx.OnnxModel.Load(Fixture("mlp_gelu.onnx")));
        while (budget.Elapsed.TotalSeconds < 5)
        {
            using var p = Start(dir, outKilled, steps, resume: kills > 0);
            if (p.WaitForExit(rng.Next(300, 1300))) break; // finished before the kill
            p.Kill();
            p.WaitForExit();
            kills++;
            var warnings = new List<string>();
            var mgr = new CheckpointManager(dir) { Warn = warnings.Add };
            var info = mgr.RestoreLatest(model, new AdamW(model.Parameters()));
            Assert.True(warnings.Count == 0, $"after kill {kills}: {string.Join("; ", warnings)}");
            if (info is null) continue; // killed before the first checkpoint
            Assert.Equal(info.Sha256, SafeTensors.Sha256(Path.Combine(dir, info.WeightsFile)));
            Assert.True(info.Step >= lastStep, $"checkpoints went back from {lastStep} to {info.Step}");
            lastStep = info.Step;
        }
        Assert.True(kills >= 2, $"only {kills} kills happened");
        using (var fin = Start(dir, outKilled, steps, resume: true)) { Assert.True(fin.WaitForExit(60_000)); Assert.Equal(0, fin.ExitCode); }
        using (var plain = Start(TempDir("plain-ckpt"), outPlain, steps, resume: false)) { Assert.True(plain.WaitForExit(60_000)); Assert.Equal(0, plain.ExitCode); }
        var a = SafeTensors.Read(Path.Combine(outKilled, "final.safetensors")).Tensors;
        var b = SafeTensors.Read(Path.Combine(outPlain, "final.safetensors")).Tensors;
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        foreach (var (k, t) in b) Assert.True(t.BitEquals(a[k]), $"'{k}' differs after {kills} kills and resumes");
    }
}
