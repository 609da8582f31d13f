using WaferSharp.Tensors;
using WaferSharp.Zoo;

namespace WaferSharp.Runtime.Generation;

/// <summary>Produces next-token logits for a batch of sequences.</summary>
public interface ITokenDecoder
{
    /// <summary>Reads the prompts [B][L] and returns the logits of the last position [B][V].</summary>
    float[][] Prefill(long[][] prompts);
    /// <summary>Appends one token per sequence and returns the logits of the new position.</summary>
    float[][] Step(long[] tokens);
}

/// <summary>
/// The CPU reference: no cache — every step runs the model's full forward pass over the whole sequence so far and
/// reads the last position.
/// </summary>
public sealed class ReferenceDecoder(Module model) : ITokenDecoder
{
    private List<long>[] _seqs = [];

    /// <inheritdoc/>
    public float[][] Prefill(long[][] prompts)
    {
        _seqs = prompts.Select(p => p.ToList()).ToArray();
        return Last();
    }

    /// <inheritdoc/>
    public float[][] Step(long[] tokens)
    {
        for (int b = 0; b < _seqs.Length; b++) _seqs[b].Add(tokens[b]);
        return Last();
    }

    private float[][] Last()
    {
        int bsz = _seqs.Length, t = _seqs[0].Count;
        var ids = new long[bsz * t];
        for (int b = 0; b < bsz; b++) _seqs[b].CopyTo(ids, b * t);
        var logits = model.Forward(Tensor.FromArray(ids, bsz, t)).Data;
        return KvCacheDecoder.LastRows(logits, bsz, t);
    }
}

/// <summary>
/// Autoregressive decoding with a KV cache, as the wafer keeps it in SRAM: the prompt is run once (causal attention),
/// each layer's keys and values are kept, and every new token runs one position through the blocks, attending to the
/// cache. Works on the zoo's GPT-2/GPT-3 (<see cref="Gpt"/>) and Llama (<see cref="Llama"/>) modules with their weights.
/// </summary>
public sealed class KvCacheDecoder : ITokenDecoder
{
    private readonly Module _model;
    private Tensor?[] _k = [], _v = [];
    private int _past;

    /// <summary>Creates a decoder for a zoo language model.</summary>
    public KvCacheDecoder(Module model)
    {
        if (model is not (Gpt or Llama)) throw new NotSupportedException($"KV-cache generation supports the zoo's GPT and Llama models, not {model.GetType().Name}");
        _model = model;
        model.Eval();
    }

    /// <summary>Tokens held in the cache per sequence.</summary>
    public int CachedTokens => _past;

    /// <inheritdoc/>
    public float[][] Prefill(long[][] prompts)
    {
        int bsz = prompts.Length, t = prompts[0].Length;
        int layers = _model is Gpt g ? g.h.Count : ((Llama)_model).layers.Count;
        _k = new Tensor?[layers]; _v = new Tensor?[layers]; _past = 0;
        var ids = new long[bsz * t];
        for (int b = 0; b < bsz; b++) prompts[b].CopyTo(ids, b * t);
        return Run(Tensor.FromArray(ids, bsz, t));
    }

    /// <inheritdoc/>
    public float[][] Step(long[] tokens) => Run(Tensor.FromArray(tokens, tokens.Length, 1));

    private float[][] Run(Tensor tokens)
    {
        int bsz = tokens.Size(0), t = tokens.Size(1);
        var x = _model is Gpt g ? RunGpt(g, tokens) : RunLlama((Llama)_model, tokens);
        _past += t;
        return LastRows(x.Data, bsz, t);
    }

    private Tensor RunGpt(Gpt m, Tensor tokens)
    {
        int t = tokens.Size(1);
        var pos = Tensor.FromArray(Enumerable.Range(_past, t).Select(i => (long)i).ToArray(), t);
        var x = m.wte.Forward(tokens) + m.wpe.Forward(pos);
        for (int i = 0; i < m.h.Count; i++)
        {
            var blk = (Block)m.h[i];
            var a = blk.attn;
            var qkv = F.Split(a.c_attn.Forward(blk.ln_1.Forward(x)), [a.EmbedDim, a.EmbedDim, a.EmbedDim], -1);
            var q = Heads(qkv[0], a.NumHeads, a.HeadDim);
            var (k, v) = Append(i, Heads(qkv[1], a.NumHeads, a.HeadDim), Heads(qkv[2], a.NumHeads, a.HeadDim));
            // The prompt attends causally; a single new token attends to the whole cache.
            var y = F.ScaledDotProductAttention(q, k, v, isCausal: t > 1);
            x = x + a.c_proj.Forward(Merge(y));
            x = x + blk.mlp.Forward(blk.ln_2.Forward(x));
        }
        return m.lm_head.Forward(m.ln_f.Forward(x));
    }

    private Tensor RunLlama(Llama m, Tensor tokens)
    {
        int t = tokens.Size(1);
        var x = m.embed_tokens.Forward(tokens);
        for (int i = 0; i < m.layers.Count; i++)
        {
            var blk = (LlamaBlock)m.layers[i];
            var a = blk.self_attn;
            var h = blk.input_layernorm.Forward(x);
            var q = F.Rope(Heads(a.q_proj.Forward(h), a.NumHeads, a.HeadDim), a.RopeTheta, _past);
            var kNew = F.Rope(Heads(a.k_proj.Forward(h), a.NumKvHeads, a.HeadDim), a.RopeTheta, _past);
            var (k, v) = Append(i, kNew, Heads(a.v_proj.Forward(h), a.NumKvHeads, a.HeadDim));
            int rep = a.NumHeads / a.NumKvHeads;
            var y = F.ScaledDotProductAttention(q, LlamaAttention.RepeatKv(k, rep), LlamaAttention.RepeatKv(v, rep), isCausal: t > 1);
            x = x + a.o_proj.Forward(Merge(y));
            x = x + blk.mlp.Forward(blk.post_attention_layernorm.Forward(x));
        }
        return m.lm_head.Forward(m.norm.Forward(x));
    }

    private (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        _k[layer] = _k[layer] is { } pk ? F.Cat([pk, k], 2) : k;
        _v[layer] = _v[layer] is { } pv ? F.Cat([pv, v], 2) : v;
        return (_k[layer]!, _v[layer]!);
    }

    // [B, T, H·D] → [B, H, T, D] and back.
    private static Tensor Heads(Tensor x, int heads, int dim) => x.Reshape(x.Size(0), x.Size(1), heads, dim).Transpose(1, 2);
    private static Tensor Merge(Tensor x) => x.Transpose(1, 2).Reshape(x.Size(0), x.Size(2), x.Size(1) * x.Size(3));

    /// <summary>Row t−1 of each sequence of logits [B, T, V].</summary>
    internal static float[][] LastRows(DenseTensor logits, int bsz, int t)
    {
        int vocab = logits.Shape[^1];
        var all = logits.AsFloat32().AsFloat();
        var r = new float[bsz][];
        for (int b = 0; b < bsz; b++) r[b] = all.Slice(((b * t) + t - 1) * vocab, vocab).ToArray();
        return r;
    }
}
