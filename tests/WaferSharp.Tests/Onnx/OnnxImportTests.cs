using WaferSharp.Graph;
using WaferSharp.Onnx;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Onnx;

/// <summary>Forward passes of PyTorch-exported models against PyTorch's outputs and ONNX Runtime.</summary>
public class OnnxImportTests
{
    private const double Tol = 1e-5;

    private static ImportedGraph ImportFor(string model, DenseTensor x)
    {
        var m = OnnxModel.Load(OnnxTestUtil.Path(model + ".onnx"));
        return OnnxImporter.Import(m, new Dictionary<string, TensorType> { ["x"] = new(x.DType, x.Shape) });
    }

    [Theory]
    [InlineData("mlp_gelu")]
    [InlineData("gpt_block")]
    [InlineData("llama_block")]
    public void ForwardMatchesPyTorch(string model)
    {
        var io = OnnxTestUtil.Npz(model + "_io.npz");
        var g = ImportFor(model, io["x"]);
        var y = g.Run(new Dictionary<string, DenseTensor> { ["x"] = io["x"] })["y"];
        TestUtil.AssertClose(io["y"], y, Tol, $"{model} vs PyTorch");
    }

    [Theory]
    [InlineData("mlp_gelu")]
    [InlineData("gpt_block")]
    [InlineData("llama_block")]
    public void ForwardMatchesOnnxRuntime(string model)
    {
        // a different batch and sequence length than the export used: dynamic axes, re-folded shapes
        var x = OnnxTestUtil.Npz(model + "_train.npz")["probe"];
        var g = ImportFor(model, x);
        var ours = g.Run(new Dictionary<string, DenseTensor> { ["x"] = x })["y"];
        var ort = OnnxTestUtil.RunOrt(OnnxTestUtil.Path(model + ".onnx"), new Dictionary<string, DenseTensor> { ["x"] = x })["y"];
        TestUtil.AssertClose(ort, ours, Tol, $"{model} vs ONNX Runtime");
    }

    [Fact]
    public void ShapeSubgraphsFoldAway()
    {
        // GPT block: Shape/Gather/Unsqueeze/Concat chains feed every Reshape; none may survive as nodes.
        var g = ImportFor("gpt_block", OnnxTestUtil.Npz("gpt_block_io.npz")["x"]).Graph;
        var ops = g.Nodes.Select(n => n.Op.Name).ToHashSet();
        Assert.DoesNotContain("Concat", ops);
        Assert.DoesNotContain("Unsqueeze", ops);
        Assert.All(g.Nodes, n => Assert.True(n.Outputs.All(o => o.DType != DType.Int64 || n.Op.Name == "Gather"), $"{n} computes integers at run time"));
        Assert.Contains("LayerNorm", ops);
        Assert.Contains("Linear", ops);
        g.Validate();
    }

    [Fact]
    public void FloatInitializersAreNamedParametersOthersConstants()
    {
        var m = OnnxModel.Load(OnnxTestUtil.Path("gpt_block.onnx"));
        var g = OnnxImporter.Import(m, new Dictionary<string, TensorType> { ["x"] = new(DType.Int64, new Shape(2, 12)) });
        var names = g.Graph.Parameters.Select(p => p.Name).ToHashSet();
        Assert.Contains("wte.weight", names);
        Assert.Contains("qkv.weight", names);
        Assert.Contains("ln1.bias", names);
        Assert.Equal(17, names.Count);
        Assert.All(g.Graph.Parameters, p => Assert.True(p.DType.IsFloating()));
        Assert.Equal(m.Initializers["qkv.weight"].ToFloatArray(), g.Parameters["qkv.weight"].ToFloatArray());
    }

    [Fact]
    public void ModuleForwardEagerEqualsImportedGraph()
    {
        var io = OnnxTestUtil.Npz("llama_block_io.npz");
        var module = new OnnxModule(OnnxModel.Load(OnnxTestUtil.Path("llama_block.onnx")));
        var y = module.Forward(new Tensor(io["x"])).Data;
        TestUtil.AssertClose(io["y"], y, Tol, "OnnxModule eager");
        Assert.Equal(12, module.Parameters().Count);
    }
}
