using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Onnx;
using WaferSharp.Tensors;
using WaferSharp.Tests.Graph;

namespace WaferSharp.Tests.Onnx;

/// <summary>MatMul's <c>alpha</c> attribute and the ONNX import folding attention's score scale into it.</summary>
public class MatMulScaleFusionTests
{
    private static DenseTensor Rand(Random r, params int[] dims)
    {
        var t = DenseTensor.Zeros(dims);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = (float)(r.NextDouble() * 2 - 1);
        return t;
    }

    [Theory]
    [InlineData(false, true, 0.125)]
    [InlineData(true, false, -0.7)]
    [InlineData(false, false, 3.0)]
    public void AlphaEqualsSeparateMulBitForBit(bool ta, bool tb, double alpha)
    {
        var r = new Random(7);
        var a = Rand(r, 2, 3, ta ? 40 : 24, ta ? 24 : 40);
        var b = Rand(r, 2, 3, tb ? 32 : 40, tb ? 40 : 32);
        var trans = Attrs.Of(("trans_a", ta), ("trans_b", tb));
        var prod = KernelInvoker.Run(OpRegistry.Get("MatMul"), [a, b], trans)[0];
        var expect = KernelInvoker.Run(OpRegistry.Get("Mul"), [prod, DenseTensor.Scalar((float)alpha)], Attrs.Empty)[0];
        var got = KernelInvoker.Run(OpRegistry.Get("MatMul"), [a, b], Attrs.Of(("trans_a", ta), ("trans_b", tb), ("alpha", alpha)))[0];
        Assert.Equal(expect.AsFloat().ToArray(), got.AsFloat().ToArray());
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void AlphaGradientsMatchFiniteDifferences(bool ta, bool tb)
    {
        var r = new Random(3);
        var a = Rand(r, 2, ta ? 5 : 4, ta ? 4 : 5);
        var b = Rand(r, 2, tb ? 3 : 5, tb ? 5 : 3);
        FiniteDifference.CheckGradients((g, v) => g.Op("MatMul", Attrs.Of(("trans_a", ta), ("trans_b", tb), ("alpha", 0.35)), v[0], v[1]),
            [a, b], what: $"MatMul alpha ta={ta} tb={tb}");
    }

    [Fact]
    public void GptBlockScoreScaleFoldsIntoMatMul()
    {
        var io = OnnxTestUtil.Npz("gpt_block_io.npz");
        var m = OnnxModel.Load(OnnxTestUtil.Path("gpt_block.onnx"));
        var g = OnnxImporter.Import(m, new Dictionary<string, TensorType> { ["x"] = new(io["x"].DType, io["x"].Shape) }).Graph;
        Assert.Contains(g.Nodes, n => n.Op.Name == "MatMul" && n.Attrs.Has("alpha"));
        Assert.DoesNotContain(g.Nodes, n => n.Op.Name == "Mul" && n.Inputs.Any(i => i.Producer is { Op.Name: "MatMul" }));
        g.Validate();
    }
}
