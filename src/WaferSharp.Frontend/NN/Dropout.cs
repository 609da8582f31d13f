namespace WaferSharp;

/// <summary>torch.nn.Dropout: zeroes elements with probability p in training mode and rescales by 1/(1-p).</summary>
public sealed class Dropout : Module
{
    private static long s_instances;
    private readonly long _id = Interlocked.Increment(ref s_instances);

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <summary>Creates the layer.</summary>
    public Dropout(double p = 0.5)
    {
        if (p < 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout p must be in [0, 1), got {p}");
        P = p;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        using var _ = Scope();
        // Each layer gets its own stream: the per-step seed (a graph input when traced) is mixed with the layer id.
        return F.Dropout(x, P, IsTraining, _id);
    }
}
