namespace WaferSharp;

/// <summary>torch.nn.LayerNorm over the last dim, with affine weight (ones) and bias (zeros).</summary>
public sealed class LayerNorm : Module
{
    /// <summary>Scale [dim].</summary>
    public Parameter weight;
    /// <summary>Shift [dim].</summary>
    public Parameter bias;
    /// <summary>Normalized size.</summary>
    public int Dim { get; }
    /// <summary>Epsilon.</summary>
    public double Eps { get; }

    /// <summary>Creates the layer.</summary>
    public LayerNorm(int dim, double eps = 1e-5)
    {
        Dim = dim; Eps = eps;
        weight = Init.Constant(1f, dim);
        bias = Init.Constant(0f, dim);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, Dim, "normalized_shape");
        using var _ = Scope();
        return F.LayerNorm(x, weight, bias, Eps);
    }
}

/// <summary>RMSNorm (Llama): x·rsqrt(mean(x²)+eps)·weight over the last dim.</summary>
public sealed class RMSNorm : Module
{
    /// <summary>Scale [dim].</summary>
    public Parameter weight;
    /// <summary>Normalized size.</summary>
    public int Dim { get; }
    /// <summary>Epsilon.</summary>
    public double Eps { get; }

    /// <summary>Creates the layer.</summary>
    public RMSNorm(int dim, double eps = 1e-6)
    {
        Dim = dim; Eps = eps;
        weight = Init.Constant(1f, dim);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, Dim, "dim");
        using var _ = Scope();
        return F.RmsNorm(x, weight, Eps);
    }
}
