using WaferSharp.Tensors;

namespace WaferSharp.Graph;

/// <summary>
/// Multi-op building blocks expressed in graph ops (so autodiff, fusion and the compiler see ordinary nodes).
/// </summary>
public static class Composites
{
    /// <summary>
    /// softmax(q·kᵀ·scale [+ causal mask])·v for q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv]
    /// (torch.nn.functional.scaled_dot_product_attention without dropout). <paramref name="scale"/> defaults to
    /// 1/sqrt(D). The causal mask is top-left aligned (query q sees keys k ≤ q), as PyTorch's is_causal.
    /// </summary>
    public static Value ScaledDotProductAttention(GraphBuilder b, Value q, Value k, Value v, bool causal, double? scale = null)
    {
        if (q.Rank < 2 || k.Rank < 2 || v.Rank < 2)
            throw new ShapeException($"ScaledDotProductAttention: q, k, v need rank ≥ 2, got {q.Shape}, {k.Shape}, {v.Shape}");
        if (q.Shape[-1] != k.Shape[-1] || k.Shape[-2] != v.Shape[-2])
            throw new ShapeException($"ScaledDotProductAttention: q {q.Shape}, k {k.Shape}, v {v.Shape} do not fit ([..,Tq,D], [..,Tk,D], [..,Tk,Dv])");
        double s = scale ?? 1.0 / Math.Sqrt(q.Shape[-1]);
        var att = b.Op("MatMul", Attrs.Of(("trans_b", true)), q, k);
        att = b.Mul(att, b.Scalar(s, att.DType));
        if (causal) att = b.Op("CausalMask", Attrs.Of(("offset", 0)), att);
        var p = b.Op("Softmax", Attrs.Of(("axis", -1)), att);
        return b.MatMul(p, v);
    }

    /// <summary>[B, T, H·D] → [B, H, T, D]: the per-head layout attention works in.</summary>
    public static Value SplitHeads(GraphBuilder b, Value x, int heads)
    {
        if (x.Rank != 3 || heads <= 0 || x.Shape[2] % heads != 0)
            throw new ShapeException($"SplitHeads: expects [B, T, C] with C divisible by {heads}, got {x.Shape}");
        var r = b.Reshape(x, x.Shape[0], x.Shape[1], heads, x.Shape[2] / heads);
        return b.Transpose(r, 0, 2, 1, 3);
    }

    /// <summary>[B, H, T, D] → [B, T, H·D], the inverse of <see cref="SplitHeads"/>.</summary>
    public static Value MergeHeads(GraphBuilder b, Value x)
    {
        if (x.Rank != 4) throw new ShapeException($"MergeHeads: expects [B, H, T, D], got {x.Shape}");
        var t = b.Transpose(x, 0, 2, 1, 3);
        return b.Reshape(t, x.Shape[0], x.Shape[2], x.Shape[1] * x.Shape[3]);
    }

    /// <summary>
    /// Causal multi-head self-attention core on x [B, T, C] already projected to q, k, v of that shape:
    /// split heads, SDPA, merge heads.
    /// </summary>
    public static Value MultiHeadAttention(GraphBuilder b, Value q, Value k, Value v, int heads, bool causal)
    {
        var o = ScaledDotProductAttention(b, SplitHeads(b, q, heads), SplitHeads(b, k, heads), SplitHeads(b, v, heads), causal);
        return MergeHeads(b, o);
    }
}
