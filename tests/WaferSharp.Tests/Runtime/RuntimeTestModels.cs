using WaferSharp.Tensors;
using WaferSharp.Training;
using WaferSharp.Zoo;

namespace WaferSharp.Tests.Runtime;

/// <summary>Small models and data for the wafer-runtime tests (twins share weights so runs are comparable).</summary>
internal static class RuntimeTestModels
{
    public sealed class Mlp(int dim, int hidden) : Module
    {
        private readonly Sequential layers = new(new WaferSharp.Linear(dim, hidden), new GELU(), new WaferSharp.Linear(hidden, dim));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    public static ModelConfig TinyGpt { get; } = new("tiny-gpt", "gpt2", 2, 32, 4, 4, 61, 24, 64, TiedEmbeddings: true,
        Norm: "layernorm", Activation: "gelu_tanh");

    public static ModelConfig TinyLlama { get; } = new("tiny-llama", "llama", 2, 32, 4, 2, 53, 24, 48, TiedEmbeddings: false,
        Norm: "rmsnorm", Activation: "silu", RopeTheta: 10000, Positions: "rope", Bias: false);

    /// <summary>A copy of <paramref name="m"/>'s weights into <paramref name="twin"/>.</summary>
    public static T Twin<T>(Module m, T twin) where T : Module
    {
        twin.LoadStateDict(m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone()));
        return twin;
    }

    public static (DenseTensor X, DenseTensor Y) Regression(int n, int dim, ulong seed)
    {
        var g = new Generator(seed);
        var x = DenseTensor.Zeros(n, dim); g.FillNormal(x.AsFloat(), 0, 1);
        var y = DenseTensor.Zeros(n, dim); g.FillNormal(y.AsFloat(), 0, 1);
        return (x, y);
    }

    /// <summary>Token sequences and their next-token targets (a noisy counting pattern the model can learn).</summary>
    public static (DenseTensor X, DenseTensor Y) Tokens(int n, int t, int vocab, ulong seed)
    {
        var g = new Generator(seed);
        var x = new long[n * t]; var y = new long[n * t];
        for (int i = 0; i < n; i++)
        {
            long start = g.NextInt(vocab);
            for (int j = 0; j < t; j++) { x[i * t + j] = (start + j) % vocab; y[i * t + j] = (start + j + 1) % vocab; }
        }
        return (DenseTensor.FromArray(x, n, t), DenseTensor.FromArray(y, n, t));
    }

    public static Module Gpt(ulong seed)
    {
        lock (Generator.Default)
        {
            Generator.Default.ManualSeed(seed);
            return ModelZoo.Create(TinyGpt, materialize: true);
        }
    }

    public static Module Llama(ulong seed)
    {
        lock (Generator.Default)
        {
            Generator.Default.ManualSeed(seed);
            var m = ModelZoo.Create(TinyLlama, materialize: true);
            // Llama's linears keep PyTorch's default init; the embedding is N(0, 0.02): fine for a smoke-sized model.
            return m;
        }
    }

    public static string TempDir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), "wafersharp-runtime-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    public static void AssertSameWeights(Module a, Module b)
    {
        var wa = a.StateDict(); var wb = b.StateDict();
        foreach (var (k, t) in wa) Assert.True(t.BitEquals(wb[k]), $"weights '{k}' differ");
    }
}
