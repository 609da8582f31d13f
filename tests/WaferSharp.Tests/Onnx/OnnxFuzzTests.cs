using WaferSharp.Graph;
using WaferSharp.Onnx;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Onnx;

/// <summary>Mutated real model files: reading and importing fail only with clean, one-line user errors.</summary>
public class OnnxFuzzTests
{
    [Theory]
    [InlineData("mlp_gelu", 1)]
    [InlineData("gpt_block", 2)]
    [InlineData("llama_block", 3)]
    public void MutatedFilesFailCleanly(string model, int seed)
    {
        var original = File.ReadAllBytes(OnnxTestUtil.Path(model + ".onnx"));
        var x = OnnxTestUtil.Npz(model + "_io.npz")["x"];
        var rng = new Random(seed);
        int loaded = 0, rejected = 0;
        for (int iter = 0; iter < 300; iter++)
        {
            var b = (byte[])original.Clone();
            switch (iter % 3)
            {
                case 0: b = b[..rng.Next(b.Length)]; break; // truncation
                case 1: for (int k = rng.Next(1, 8); k > 0; k--) b[rng.Next(b.Length)] = (byte)rng.Next(256); break; // byte noise
                default: // noise confined to the graph structure (before the big weight blobs), where it changes ops and shapes
                    int limit = Math.Max(16, b.Length / 20);
                    for (int k = rng.Next(1, 4); k > 0; k--) b[b.Length - 1 - rng.Next(limit)] ^= (byte)(1 << rng.Next(8));
                    break;
            }
            try
            {
                var m = OnnxModel.Parse(b, "fuzz.onnx");
                loaded++;
                var g = OnnxImporter.Import(m, new Dictionary<string, TensorType> { [m.Inputs.Count > 0 ? m.Inputs[0].Name : "x"] = new(x.DType, x.Shape) });
                g.Graph.Validate();
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or ArgumentException)
            {
                // InvalidDataException: damaged file; NotSupportedException: valid-looking file using features we
                // lack; ArgumentException: the given input no longer fits the (mutated) declared inputs.
                Assert.DoesNotContain('\n', e.Message);
                Assert.False(e is ShapeException, $"iteration {iter}: a shape error escaped the importer: {e.Message}");
                rejected++;
            }
        }
        Assert.True(rejected > 50, $"only {rejected} of 300 mutations were rejected");
        Assert.True(loaded > 0);
    }
}
