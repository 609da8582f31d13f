namespace WaferSharp.Zoo;

/// <summary>
/// The reference example: <c>Sequential(Linear(in, hidden), GELU(), Linear(hidden, out))</c> held in a field named
/// <c>layers</c>, so parameters are <c>layers.0.weight, layers.0.bias, layers.2.weight, layers.2.bias</c>.
/// Default sizes 4096 → 8192 → 4096.
/// </summary>
public sealed class ReferenceMlp : Module
{
    /// <summary>Linear, GELU, Linear.</summary>
    public Sequential layers;

    /// <summary>Input width.</summary>
    public int InFeatures { get; }
    /// <summary>Hidden width.</summary>
    public int HiddenFeatures { get; }
    /// <summary>Output width.</summary>
    public int OutFeatures { get; }

    /// <summary>Creates the net (output width defaults to the input width).</summary>
    public ReferenceMlp(int inFeatures = 4096, int hidden = 8192, int? outFeatures = null)
    {
        InFeatures = inFeatures; HiddenFeatures = hidden; OutFeatures = outFeatures ?? inFeatures;
        layers = new Sequential(new Linear(inFeatures, hidden), new GELU(), new Linear(hidden, OutFeatures));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, InFeatures, "in_features");
        using var _ = Scope();
        return layers.Forward(x);
    }

    /// <summary>x [B, in] and targets [B, out] → mean squared error.</summary>
    public override Tensor Forward(Tensor x, Tensor targets)
    {
        var y = Forward(x);
        using var _ = Scope();
        return F.MseLoss(y, targets);
    }
}
