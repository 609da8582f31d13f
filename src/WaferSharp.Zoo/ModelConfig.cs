namespace WaferSharp.Zoo;

/// <summary>
/// The shape of a zoo model. Language models read int64 tokens [B, T] and predict the next token over
/// <see cref="Vocab"/> classes; the <c>mlp</c> family is a plain feed-forward net (Hidden → FfnHidden → Hidden).
/// </summary>
/// <param name="Name">Zoo name (e.g. "gpt2-small").</param>
/// <param name="Family">"mlp", "gpt2", "gpt3" or "llama".</param>
/// <param name="Layers">Transformer blocks (linear layers for the MLP).</param>
/// <param name="Hidden">Model width d_model.</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads (= Heads without grouped-query attention).</param>
/// <param name="Vocab">Vocabulary size (0 for the MLP).</param>
/// <param name="SeqLen">Maximum context length (0 for the MLP).</param>
/// <param name="FfnHidden">Feed-forward width.</param>
/// <param name="TiedEmbeddings">Whether the output projection shares the token embedding.</param>
/// <param name="Norm">"layernorm", "rmsnorm" or "none".</param>
/// <param name="Activation">"gelu_tanh", "gelu", "silu" (SwiGLU for Llama) …</param>
/// <param name="RopeTheta">RoPE base (0 for learned positions).</param>
/// <param name="Positions">"learned", "rope" or "none".</param>
/// <param name="NormEps">Norm epsilon.</param>
/// <param name="Bias">Whether linear layers have biases.</param>
/// <param name="Dropout">Dropout probability used when building (0 = none).</param>
/// <param name="Source">Where the shape comes from, and any deviation from it.</param>
public sealed record ModelConfig(
    string Name,
    string Family,
    int Layers,
    int Hidden,
    int Heads,
    int KvHeads,
    int Vocab,
    int SeqLen,
    int FfnHidden,
    bool TiedEmbeddings,
    string Norm,
    string Activation,
    double RopeTheta = 0,
    string Positions = "learned",
    double NormEps = 1e-5,
    bool Bias = true,
    double Dropout = 0,
    string Source = "")
{
    /// <summary>Width of one attention head (0 for the MLP).</summary>
    public int HeadDim => Heads == 0 ? 0 : Hidden / Heads;

    /// <summary>True for models that read tokens (everything but the MLP).</summary>
    public bool IsLanguageModel => Vocab > 0;
}
