namespace WaferSharp;

/// <summary>torch.nn.Linear: y = x·Wᵀ + b, W [out, in], initialized U(±1/√in) as PyTorch does.</summary>
public sealed class Linear : Module
{
    /// <summary>Weight [out_features, in_features].</summary>
    public Parameter weight;
    /// <summary>Bias [out_features] or null.</summary>
    public Parameter? bias;

    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Creates the layer with PyTorch's default initialization.</summary>
    public Linear(int inFeatures, int outFeatures, bool hasBias = true)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear({inFeatures}, {outFeatures}): sizes must be positive");
        InFeatures = inFeatures; OutFeatures = outFeatures;
        float bound = 1f / MathF.Sqrt(inFeatures);
        weight = Init.Uniform(bound, outFeatures, inFeatures);
        bias = hasBias ? Init.Uniform(bound, outFeatures) : null;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, InFeatures, "in_features");
        using var _ = Scope();
        return F.Linear(x, weight, bias);
    }
}
