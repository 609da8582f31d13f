namespace WaferSharp;

/// <summary>torch.nn.GELU (approximate "none" or "tanh").</summary>
public sealed class GELU(string approximate = "none") : Module
{
    /// <summary>"none" (erf form) or "tanh".</summary>
    public string Approximate { get; } = approximate is "none" or "tanh" ? approximate : throw new ArgumentException($"GELU approximate must be 'none' or 'tanh', got '{approximate}'");
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) { using var _ = Scope(); return F.Gelu(x, Approximate); }
}

/// <summary>torch.nn.ReLU.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) { using var _ = Scope(); return F.Relu(x); }
}

/// <summary>torch.nn.SiLU.</summary>
public sealed class SiLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) { using var _ = Scope(); return F.Silu(x); }
}

/// <summary>torch.nn.Tanh.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) { using var _ = Scope(); return F.Tanh(x); }
}
