using System.CommandLine;
using System.Text.Json;
using WaferSharp.Cli;
using WaferSharp.Onnx;
using WaferSharp.Onnx.Proto;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.Onnx;

[CollectionDefinition("OnnxCli", DisableParallelization = true)]
public class OnnxCliCollection { }

/// <summary>`wafer run/train/export/ops` invoked in-process: outputs, errors and exit codes.</summary>
[Collection("OnnxCli")]
public sealed class OnnxCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wafer-onnx-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Wafer(params string[] args) => TestUtil.RunCli(args);

    private string Temp(string name) => Path.Combine(_dir, name);

    private string SaveNpy(string name, DenseTensor t) { var p = Temp(name); Npy.Write(p, t); return p; }

    private static void AssertOneLineError(int expectedCode, (int Code, string Out, string Err) r, params string[] mentions)
    {
        Assert.Equal(expectedCode, r.Code);
        var lines = r.Err.Trim().Split('\n');
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{r.Err}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
        foreach (var m in mentions) Assert.Contains(m, r.Err);
    }

    [Fact]
    public void RunWritesOneNpyPerOutputMatchingPyTorch()
    {
        var io = OnnxTestUtil.Npz("llama_block_io.npz");
        string outDir = Temp("out");
        var r = Wafer("run", OnnxTestUtil.Path("llama_block.onnx"), "--input", "x=" + SaveNpy("x.npy", io["x"]), "--output-dir", outDir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("y: f32[2,16,64]", r.Out);
        Assert.Equal(new[] { "y.npy" }, Directory.GetFiles(outDir).Select(f => Path.GetFileName(f)!).ToArray());
        TestUtil.AssertClose(io["y"], Npy.Read(Path.Combine(outDir, "y.npy")), 1e-5, "wafer run output");
    }

    [Fact]
    public void RunRejectsWrongInputNameShapeAndDtype()
    {
        string model = OnnxTestUtil.Path("mlp_gelu.onnx"), outDir = Temp("out");
        var good = DenseTensor.Zeros(3, 16);
        AssertOneLineError(2, Wafer("run", model, "--input", "inp=" + SaveNpy("a.npy", good), "--output-dir", outDir), "no input 'inp'", "x (f32[batch,16])");
        AssertOneLineError(2, Wafer("run", model, "--input", "x=" + SaveNpy("b.npy", DenseTensor.Zeros(3, 15)), "--output-dir", outDir), "input 'x'", "f32[batch,16]", "[3,15]");
        AssertOneLineError(2, Wafer("run", model, "--input", "x=" + SaveNpy("c.npy", DenseTensor.Zeros(new Shape(3, 16), DType.Int64)), "--output-dir", outDir), "must be f32", "i64[3,16]");
        AssertOneLineError(2, Wafer("run", model, "--input", "x=" + SaveNpy("d.npy", DenseTensor.Zeros(3, 16, 1)), "--output-dir", outDir), "rank 2");
        AssertOneLineError(2, Wafer("run", model, "--input", "x=" + Temp("missing.npy"), "--output-dir", outDir), "not found");
        Assert.False(Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any(), "a failed run must not leave output files");
    }

    [Fact]
    public void UnsupportedOperatorsAreReportedOncePerTypeWithExitCode2()
    {
        var model = OnnxModel.Load(OnnxTestUtil.Path("gpt_block.onnx"));
        var proto = model.Proto.Clone();
        int k = 0;
        foreach (var n in proto.Graph.Node)
            if (n.OpType == "Tanh" || (n.OpType == "Softmax" && k++ >= 0)) n.OpType = n.OpType == "Tanh" ? "HardSwishX" : "FancySoftmax";
        var path = Temp("bad_ops.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));
        var r = Wafer("run", path, "--input", "x=" + SaveNpy("x.npy", OnnxTestUtil.Npz("gpt_block_io.npz")["x"]), "--output-dir", Temp("out"));
        AssertOneLineError(2, r, "HardSwishX ×1", "FancySoftmax ×1", "wafer ops");
        Assert.Equal(1, r.Err.Split("HardSwishX").Length - 1);
        Assert.False(Directory.Exists(Temp("out")));
    }

    [Fact]
    public void CorruptedOrTruncatedModelIsAOneLineError()
    {
        var bytes = File.ReadAllBytes(OnnxTestUtil.Path("mlp_gelu.onnx"));
        var trunc = Temp("trunc.onnx");
        File.WriteAllBytes(trunc, bytes[..(bytes.Length / 2)]);
        AssertOneLineError(2, Wafer("run", trunc, "--input", "x=" + SaveNpy("x.npy", DenseTensor.Zeros(2, 16)), "--output-dir", Temp("o")), "trunc.onnx");
        var junk = Temp("junk.onnx");
        File.WriteAllText(junk, "this is not a protobuf at all, just text\n");
        AssertOneLineError(2, Wafer("run", junk, "--input", "x=" + Temp("x.npy"), "--output-dir", Temp("o")), "junk.onnx");
        AssertOneLineError(2, Wafer("run", Temp("nope.onnx"), "--input", "x=" + Temp("x.npy"), "--output-dir", Temp("o")), "not found");
    }

    [Fact]
    public void TrainThenExportRunsInOnnxRuntime()
    {
        string model = OnnxTestUtil.Path("mlp_gelu.onnx"), data = OnnxTestUtil.Path("mlp_gelu_train.npz");
        string ckpt = Temp("ckpt"), metrics = Temp("m.jsonl");
        var r = Wafer("train", model, "--data", data, "--input-key", "x", "--target-key", "y", "--loss", "mse", "--optimizer", "adamw",
            "--lr", "1e-2", "--batch-size", "16", "--steps", "30", "--no-shuffle", "--metrics", metrics, "--checkpoint-dir", ckpt, "--checkpoint-every", "10");
        Assert.True(r.Code == 0, r.Err + r.Out);
        var expected = OnnxTestUtil.Npz("mlp_gelu_train.npz")["losses"].ToFloatArray();
        var lines = File.ReadAllLines(metrics);
        Assert.Equal(30, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            Assert.Equal(i + 1, doc.RootElement.GetProperty("step").GetInt64());
            double loss = doc.RootElement.GetProperty("loss").GetDouble();
            Assert.True(Math.Abs(loss - expected[i]) <= 1e-4 * expected[i], $"step {i + 1}: {loss} vs PyTorch {expected[i]}");
        }
        string final = Path.Combine(ckpt, "final.safetensors");
        Assert.True(File.Exists(final));
        Assert.True(File.Exists(Path.Combine(ckpt, "step-00000030.safetensors")));

        string exported = Temp("trained.onnx");
        var e = Wafer("export", model, "--weights", final, "--output", exported);
        Assert.True(e.Code == 0, e.Err);
        var probe = OnnxTestUtil.Npz("mlp_gelu_train.npz")["probe"];
        var ort = OnnxTestUtil.RunOrt(exported, new Dictionary<string, DenseTensor> { ["x"] = probe })["y"];
        TestUtil.AssertClose(OnnxTestUtil.Npz("mlp_gelu_train.npz")["probe_out"], ort, 1e-4, "exported model (ORT) vs PyTorch trained");
        // a checkpoint (model.* and optim.* keys) exports too
        Assert.Equal(0, Wafer("export", model, "--weights", Path.Combine(ckpt, "step-00000030.safetensors"), "--output", Temp("ck.onnx")).Code);
    }

    [Fact]
    public void TrainAndExportUserErrors()
    {
        string model = OnnxTestUtil.Path("mlp_gelu.onnx"), data = OnnxTestUtil.Path("mlp_gelu_train.npz");
        AssertOneLineError(2, Wafer("train", model, "--data", data, "--input-key", "nope", "--output-dir", Temp("t")), "no array 'nope'", "x, y");
        AssertOneLineError(2, Wafer("train", model, "--data", data, "--loss", "cross-entropy", "--output-dir", Temp("t")), "int64");
        AssertOneLineError(2, Wafer("train", model, "--data", OnnxTestUtil.Path("gpt_block_train.npz"), "--output-dir", Temp("t")), "input 'x'");
        var w = Temp("w.safetensors");
        SafeTensors.Write(w, new Dictionary<string, DenseTensor> { ["fc1.weight"] = DenseTensor.Zeros(32, 16) });
        AssertOneLineError(2, Wafer("export", model, "--weights", w, "--output", Temp("x.onnx")), "lacks weights", "fc2.weight");
        Assert.False(File.Exists(Temp("x.onnx")));
    }

    [Fact]
    public void OpsListsTheOperatorsAndHelpWorks()
    {
        var r = Wafer("ops");
        Assert.Equal(0, r.Code);
        foreach (var op in new[] { "Gemm", "LayerNormalization", "Trilu", "Range", "ConstantOfShape", "LeakyRelu", "Where" }) Assert.Contains(op, r.Out);
        Assert.Contains("opsets 13-17", r.Out);
        foreach (var verb in new[] { "run", "train", "export", "ops" }) Assert.Equal(0, Wafer(verb, "--help").Code);
    }
}
