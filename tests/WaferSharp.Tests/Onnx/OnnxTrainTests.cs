using System.Text.Json;
using WaferSharp.Onnx;
using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Tests.Onnx;

/// <summary>Training imported models with the Trainer: 30 AdamW steps against PyTorch's losses, and export back to ONNX.</summary>
public class OnnxTrainTests
{
    internal static (OnnxModule Module, TrainResult Result) Train(string model)
    {
        var data = OnnxTestUtil.Npz(model + "_train.npz");
        using var doc = JsonDocument.Parse(File.ReadAllText(OnnxTestUtil.Path(model + "_train.json")));
        var cfg = doc.RootElement;
        var module = new OnnxModule(OnnxModel.Load(OnnxTestUtil.Path(model + ".onnx")));
        var opt = new AdamW(module.Parameters(), cfg.GetProperty("lr").GetDouble(), weightDecay: cfg.GetProperty("weight_decay").GetDouble());
        var trainer = new Trainer(module, opt, new TrainerConfig { MaxSteps = cfg.GetProperty("steps").GetInt32(), Loss = cfg.GetProperty("loss").GetString()!, Progress = "none" });
        var loader = new DataLoader(data["x"], data["y"], cfg.GetProperty("batch_size").GetInt32(), shuffle: false);
        return (module, trainer.Fit(loader));
    }

    [Theory]
    [InlineData("mlp_gelu")]
    [InlineData("gpt_block")]
    [InlineData("llama_block")]
    public void AdamWLossesMatchPyTorch(string model)
    {
        var data = OnnxTestUtil.Npz(model + "_train.npz");
        var (module, result) = Train(model);
        var expected = data["losses"].ToFloatArray();
        Assert.Equal(expected.Length, result.Losses.Count);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(result.Losses[i] - expected[i]) <= 1e-4 * Math.Abs(expected[i]),
                $"{model} step {i + 1}: loss {result.Losses[i]:R}, PyTorch {expected[i]:R}");
        // The trained parameters give PyTorch's trained outputs.
        var probe = module.Forward(new Tensor(data["probe"])).Data;
        TestUtil.AssertClose(data["probe_out"], probe, 1e-4, $"{model} trained output");
    }

    [Fact]
    public void ExportedModelRunsInOnnxRuntimeWithTrainedWeights()
    {
        var (module, _) = Train("gpt_block");
        var model = module.Model;
        string dir = Directory.CreateTempSubdirectory("wafer-onnx-export").FullName;
        try
        {
            string path = Path.Combine(dir, "trained.onnx");
            model.Save(path, module.Weights());
            var probe = OnnxTestUtil.Npz("gpt_block_train.npz")["probe"];
            var ours = module.Forward(new Tensor(probe)).Data;
            var ort = OnnxTestUtil.RunOrt(path, new Dictionary<string, DenseTensor> { ["x"] = probe })["y"];
            TestUtil.AssertClose(ours, ort, 1e-5, "exported model in ONNX Runtime");
            // and the exported file re-imports with the trained weights as its initializers
            var back = OnnxModel.Load(path);
            Assert.Equal(module.Weights()["qkv.weight"].ToFloatArray(), back.Initializers["qkv.weight"].ToFloatArray());
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
