namespace WaferSharp;

/// <summary>GPT-2 feed-forward: <c>c_proj(act(c_fc(x)))</c>, c_fc: dim→hidden, c_proj: hidden→dim.</summary>
public sealed class MLP : Module
{
    /// <summary>Up projection [hidden, dim].</summary>
    public Linear c_fc;
    /// <summary>Down projection [dim, hidden].</summary>
    public Linear c_proj;
    /// <summary>Dropout on the output.</summary>
    public Dropout dropout;

    /// <summary>"gelu_tanh" (GPT-2), "gelu", "relu" or "silu".</summary>
    public string Activation { get; }
    /// <summary>Model width.</summary>
    public int Dim { get; }
    /// <summary>Hidden width.</summary>
    public int Hidden { get; }

    /// <summary>The activations <see cref="MLP"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Activations = ["gelu_tanh", "gelu", "relu", "silu"];

    /// <summary>Creates the layer.</summary>
    public MLP(int dim, int hidden, string activation = "gelu_tanh", double dropout = 0)
    {
        if (!Activations.Contains(activation))
            throw new ArgumentException($"MLP(dim={dim}, hidden={hidden}): unknown activation '{activation}'; expected one of {string.Join(", ", Activations)}");
        Dim = dim; Hidden = hidden; Activation = activation;
        c_fc = new Linear(dim, hidden);
        c_proj = new Linear(hidden, dim);
        this.dropout = new Dropout(dropout);
    }

    /// <summary>Applies an activation by name.</summary>
    public static Tensor Activate(Tensor h, string activation) => activation switch
    {
        "gelu_tanh" => F.Gelu(h, "tanh"),
        "gelu" => F.Gelu(h),
        "relu" => F.Relu(h),
        "silu" => F.Silu(h),
        _ => throw new ArgumentException($"unknown activation '{activation}'"),
    };

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, Dim, "dim");
        using var _ = Scope();
        return dropout.Forward(c_proj.Forward(Activate(c_fc.Forward(x), Activation)));
    }
}

/// <summary>
/// Pre-LN GPT-2 block: <c>x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))</c>, with children
/// <c>ln_1, attn (c_attn, c_proj), ln_2, mlp (c_fc, c_proj)</c> named as in GPT-2 / nanoGPT.
/// </summary>
public sealed class Block : Module
{
    /// <summary>Norm before attention.</summary>
    public LayerNorm ln_1;
    /// <summary>Causal self-attention.</summary>
    public CausalSelfAttention attn;
    /// <summary>Norm before the MLP.</summary>
    public LayerNorm ln_2;
    /// <summary>Feed-forward.</summary>
    public MLP mlp;

    /// <summary>Model width.</summary>
    public int EmbedDim { get; }

    /// <summary>Creates the block; the MLP is 4·embedDim wide unless <paramref name="ffnHidden"/> is given.</summary>
    public Block(int embedDim, int numHeads, double dropout = 0, double eps = 1e-5, int? ffnHidden = null, string activation = "gelu_tanh")
    {
        EmbedDim = embedDim;
        ln_1 = new LayerNorm(embedDim, eps);
        attn = new CausalSelfAttention(embedDim, numHeads, true, dropout);
        ln_2 = new LayerNorm(embedDim, eps);
        mlp = new MLP(embedDim, ffnHidden ?? 4 * embedDim, activation, dropout);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, EmbedDim, "embed_dim");
        using var _ = Scope();
        x = x + attn.Forward(ln_1.Forward(x));
        return x + mlp.Forward(ln_2.Forward(x));
    }
}

/// <summary>Llama feed-forward: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>, no biases.</summary>
public sealed class SwiGLU : Module
{
    /// <summary>[hidden, dim].</summary>
    public Linear gate_proj;
    /// <summary>[hidden, dim].</summary>
    public Linear up_proj;
    /// <summary>[dim, hidden].</summary>
    public Linear down_proj;

    /// <summary>Model width.</summary>
    public int Dim { get; }
    /// <summary>Hidden width.</summary>
    public int Hidden { get; }

    /// <summary>Creates the layer.</summary>
    public SwiGLU(int dim, int hidden)
    {
        Dim = dim; Hidden = hidden;
        gate_proj = new Linear(dim, hidden, false);
        up_proj = new Linear(dim, hidden, false);
        down_proj = new Linear(hidden, dim, false);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, Dim, "hidden_size");
        using var _ = Scope();
        return down_proj.Forward(F.Silu(gate_proj.Forward(x)) * up_proj.Forward(x));
    }
}

/// <summary>
/// Llama decoder layer: <c>x = x + self_attn(input_layernorm(x)); x = x + mlp(post_attention_layernorm(x))</c>
/// with RMSNorm, named as in Hugging Face's LlamaDecoderLayer.
/// </summary>
public sealed class LlamaBlock : Module
{
    /// <summary>Attention.</summary>
    public LlamaAttention self_attn;
    /// <summary>Feed-forward.</summary>
    public SwiGLU mlp;
    /// <summary>Norm before attention.</summary>
    public RMSNorm input_layernorm;
    /// <summary>Norm before the MLP.</summary>
    public RMSNorm post_attention_layernorm;

    /// <summary>Model width.</summary>
    public int Dim { get; }

    /// <summary>Creates the layer.</summary>
    public LlamaBlock(int dim, int numHeads, int numKvHeads, int ffnHidden, double ropeTheta = 10000.0, double eps = 1e-5)
    {
        Dim = dim;
        self_attn = new LlamaAttention(dim, numHeads, numKvHeads, ropeTheta);
        mlp = new SwiGLU(dim, ffnHidden);
        input_layernorm = new RMSNorm(dim, eps);
        post_attention_layernorm = new RMSNorm(dim, eps);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ExpectLastDim(x, Dim, "hidden_size");
        using var _ = Scope();
        x = x + self_attn.Forward(input_layernorm.Forward(x));
        return x + mlp.Forward(post_attention_layernorm.Forward(x));
    }
}
