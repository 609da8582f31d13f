using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.Onnx;

/// <summary>Fixture paths and the ONNX Runtime oracle.</summary>
public static class OnnxTestUtil
{
    public static readonly string[] Models = ["mlp_gelu", "gpt_block", "llama_block"];

    public static string Path(string file) => TestUtil.Fixture("onnx", file);

    public static IReadOnlyDictionary<string, DenseTensor> Npz(string file) => WaferSharp.Tensors.IO.Npz.Read(Path(file));

    /// <summary>Runs a model in ONNX Runtime (single thread) and returns every output.</summary>
    public static Dictionary<string, DenseTensor> RunOrt(string modelPath, IReadOnlyDictionary<string, DenseTensor> inputs)
    {
        using var opts = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(modelPath, opts);
        var feeds = inputs.Select(kv => ToOrt(kv.Key, kv.Value)).ToList();
        using var results = session.Run(feeds);
        var outs = new Dictionary<string, DenseTensor>();
        foreach (var r in results)
        {
            var t = r.AsTensor<float>();
            var dims = t.Dimensions.ToArray();
            outs[r.Name] = DenseTensor.FromArray(t.ToArray(), dims);
        }
        return outs;
    }

    public static NamedOnnxValue ToOrt(string name, DenseTensor t)
    {
        var dims = t.Shape.ToArray();
        return t.DType switch
        {
            DType.Float32 => NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(t.AsFloat().ToArray(), dims)),
            DType.Int64 => NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(t.AsInt64().ToArray(), dims)),
            _ => throw new ArgumentException($"unsupported dtype {t.DType}"),
        };
    }
}
