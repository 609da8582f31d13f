using System.Text.Json;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.Runtime;

[CollectionDefinition("RuntimeCli", DisableParallelization = true)]
public class RuntimeCliCollection { }

/// <summary><c>wafer train --device wse3 …</c> and <c>wafer generate</c> through the real command tree.</summary>
[Collection("RuntimeCli")]
public class RuntimeCliTests
{
    private static readonly string Model = TestUtil.Fixture("onnx", "mlp_gelu.onnx"), Data = TestUtil.Fixture("onnx", "mlp_gelu_train.npz");

    private static (int Code, string Out, string Err) Train(string outDir, params string[] extra) =>
        TestUtil.RunCli(["train", Model, "--data", Data, "--batch-size", "16", "--steps", "12", "--lr", "1e-2", "--output-dir", outDir, .. extra]);

    private static void AssertUserError((int Code, string Out, string Err) r, params string[] needles)
    {
        Assert.Equal(2, r.Code);
        var line = r.Err.Trim();
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("error: ", line);
        foreach (var n in needles) Assert.Contains(n, line);
    }

    [Fact]
    public void TrainOnWse3WithSystemsAndMixedPrecisionReportsTheDevice()
    {
        string dir = RuntimeTestModels.TempDir("cli"), metrics = Path.Combine(dir, "m.jsonl");
        var r = Train(dir, "--device", "wse3", "--systems", "2", "--precision", "bf16", "--metrics", metrics);
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.Contains("device wse3 x2 (weight-streaming, bf16)", r.Out);
        Assert.Contains("TFLOP/s", r.Out);
        var last = File.ReadAllLines(metrics)[^1];
        using var doc = JsonDocument.Parse(last);
        Assert.True(doc.RootElement.GetProperty("device_s").GetDouble() > 0);
        Assert.Equal("weight-streaming", doc.RootElement.GetProperty("mode").GetString());
    }

    [Fact]
    public void FailAtStepRecoversToTheUninterruptedWeights()
    {
        string plain = RuntimeTestModels.TempDir("plain"), faulty = RuntimeTestModels.TempDir("faulty");
        Assert.Equal(0, Train(plain, "--device", "wse3").Code);
        var r = Train(faulty, "--device", "wse3", "--checkpoint-dir", Path.Combine(faulty, "ckpt"), "--checkpoint-every", "5", "--fail-at-step", "7");
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.Contains("system failure during step 7: restarting from checkpoint step 5; lost 2 step(s)", r.Out);
        Assert.Contains("recovered from 1 system failure(s)", r.Out);
        var a = SafeTensors.Read(Path.Combine(plain, "final.safetensors")).Tensors;
        var b = SafeTensors.Read(Path.Combine(faulty, "final.safetensors")).Tensors;
        foreach (var (k, t) in a) Assert.True(t.BitEquals(b[k]), k);
    }

    [Fact]
    public void DefectRateLeavesTheNumbersUnchanged()
    {
        string a = RuntimeTestModels.TempDir("nodefect"), b = RuntimeTestModels.TempDir("defect");
        var r1 = Train(a, "--device", "mesh:32x32");
        var r2 = Train(b, "--device", "mesh:32x32", "--defect-rate", "0.05", "--seed", "0");
        Assert.True(r1.Code == 0 && r2.Code == 0, r1.Err + r2.Err);
        var wa = SafeTensors.Read(Path.Combine(a, "final.safetensors")).Tensors;
        var wb = SafeTensors.Read(Path.Combine(b, "final.safetensors")).Tensors;
        foreach (var (k, t) in wa) Assert.True(t.BitEquals(wb[k]), k);
        WaferSharp.Runtime.WaferRuntime.Register(new WaferSharp.Runtime.WaferRuntimeOptions()); // back to no defects for other tests
    }

    [Fact]
    public void RuntimeUserErrorsAreOneLine()
    {
        string d = RuntimeTestModels.TempDir("errors");
        AssertUserError(Train(d, "--device", "wse3", "--fidelity", "cycle"), "mesh:WxH");
        if (WaferSharp.Runtime.WaferRuntime.CycleTimer is null)
            AssertUserError(Train(d, "--device", "mesh:16x16", "--fidelity", "cycle"), "not registered", "--fidelity fast");
        AssertUserError(Train(d, "--device", "wse3", "--systems", "3"), "--systems 3");
        AssertUserError(Train(d, "--device", "wse3", "--fail-at-step", "3"), "--checkpoint-dir");
        AssertUserError(Train(d, "--device", "wse3", "--precision", "fp8"), "fp8");
        AssertUserError(Train(d, "--device", "cpu", "--precision", "bf16"), "fp32 only");
        AssertUserError(Train(d, "--device", "cpu", "--defect-rate", "0.1"), "--defect-rate");
        AssertUserError(Train(d, "--device", "wse3", "--lr-scaling", "cubic"), "cubic");
        AssertUserError(TestUtil.RunCli("generate", "zoo:gpt2-small", "--prompt-len", "4", "--prompt-tokens", "x.txt"), "exactly one");
        AssertUserError(TestUtil.RunCli("generate", "zoo:mlp", "--prompt-len", "4"), "not a language model");
        Assert.False(File.Exists(Path.Combine(d, "final.safetensors")));
    }

    [Fact]
    public void GenerateReportsTimeToFirstTokenAndThroughput()
    {
        var r = TestUtil.RunCli("generate", "zoo:gpt2-small", "--device", "wse3", "--prompt-len", "16", "--max-new-tokens", "8", "--batch", "2", "--timing-only");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("time to first token", r.Out);
        Assert.Contains("per-token latency", r.Out);
        Assert.Contains("tokens/s total (batch 2)", r.Out);
    }
}
