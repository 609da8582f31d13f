namespace WaferSharp.Bench;

/// <summary>The benchmarks' reference MLP: Linear(d, h) → GELU → Linear(h, d).</summary>
internal sealed class BenchMlp(int d, int h) : Module
{
    private readonly Sequential layers = new(new Linear(d, h), new GELU(), new Linear(h, d));
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => layers.Forward(x);
}
