using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp;

/// <summary>Functional ops in PyTorch's spelling (torch / torch.nn.functional). Each is one graph op or a small composite.</summary>
public static class F
{
    private static Tensor Op(string name, Attrs? a, params Tensor[] x) => Dispatch.Call1(name, a, x);

    /// <summary>Brings a scalar operand to the other operand's dtype (PyTorch's scalar type promotion).</summary>
    private static (Tensor, Tensor) Align(Tensor a, Tensor b)
    {
        if (a.DType == b.DType) return (a, b);
        if (b.Rank == 0 && !b.IsSymbolic && !b.IsMeta) return (a, Cast(b, a.DType));
        if (a.Rank == 0 && !a.IsSymbolic && !a.IsMeta) return (Cast(a, b.DType), b);
        throw new ShapeException($"operands have different dtypes ({a.Type} and {b.Type}); call .To(dtype) first");
    }

    /// <summary>a + b.</summary>
    public static Tensor Add(Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Add", null, a, b); }
    /// <summary>a - b.</summary>
    public static Tensor Sub(Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Sub", null, a, b); }
    /// <summary>a * b.</summary>
    public static Tensor Mul(Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Mul", null, a, b); }
    /// <summary>a / b.</summary>
    public static Tensor Div(Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Div", null, a, b); }
    /// <summary>a ** b.</summary>
    public static Tensor Pow(Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Pow", null, a, b); }
    /// <summary>Elementwise max.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Maximum", null, a, b); }
    /// <summary>Elementwise min.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Minimum", null, a, b); }
    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => Op("Neg", null, x);
    /// <summary>exp.</summary>
    public static Tensor Exp(Tensor x) => Op("Exp", null, x);
    /// <summary>log.</summary>
    public static Tensor Log(Tensor x) => Op("Log", null, x);
    /// <summary>sqrt.</summary>
    public static Tensor Sqrt(Tensor x) => Op("Sqrt", null, x);
    /// <summary>1/sqrt.</summary>
    public static Tensor Rsqrt(Tensor x) => Op("Rsqrt", null, x);
    /// <summary>tanh.</summary>
    public static Tensor Tanh(Tensor x) => Op("Tanh", null, x);
    /// <summary>erf.</summary>
    public static Tensor Erf(Tensor x) => Op("Erf", null, x);
    /// <summary>sigmoid.</summary>
    public static Tensor Sigmoid(Tensor x) => Op("Sigmoid", null, x);
    /// <summary>relu.</summary>
    public static Tensor Relu(Tensor x) => Op("Relu", null, x);
    /// <summary>silu (swish).</summary>
    public static Tensor Silu(Tensor x) => Op("Silu", null, x);
    /// <summary>gelu; <paramref name="approximate"/> is "none" (erf) or "tanh".</summary>
    public static Tensor Gelu(Tensor x, string approximate = "none") => Op("Gelu", Attrs.Of(("approximate", approximate)), x);

    /// <summary>torch.matmul.</summary>
    public static Tensor MatMul(Tensor a, Tensor b) => Op("MatMul", null, a, b);
    /// <summary>torch.nn.functional.linear: x·Wᵀ + b.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) =>
        bias is null ? Op("Linear", null, x, weight) : Op("Linear", null, x, weight, bias);

    /// <summary>Reshape.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape) => Op("Reshape", Attrs.Of(("shape", shape)), x);
    /// <summary>Swaps two dims.</summary>
    public static Tensor Transpose(Tensor x, int dim0, int dim1)
    {
        var p = Enumerable.Range(0, x.Rank).ToArray();
        int a = x.Shape.Axis(dim0), b = x.Shape.Axis(dim1);
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(x, p);
    }
    /// <summary>Permutes dims.</summary>
    public static Tensor Permute(Tensor x, params int[] perm) => Op("Transpose", Attrs.Of(("perm", perm)), x);
    /// <summary>x[..., start:end:step, ...] along one dim.</summary>
    public static Tensor Slice(Tensor x, int dim, int start, int end, int step = 1) =>
        Op("Slice", Attrs.Of(("axis", dim), ("start", start), ("end", end), ("step", step)), x);
    /// <summary>torch.cat.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> xs, int dim) => Op("Concat", Attrs.Of(("axis", dim)), xs.ToArray());
    /// <summary>torch.split with explicit sizes.</summary>
    public static Tensor[] Split(Tensor x, int[] sizes, int dim) => Dispatch.Call("Split", Attrs.Of(("axis", dim), ("sizes", sizes)), x);
    /// <summary>Broadcast to a shape.</summary>
    public static Tensor Expand(Tensor x, params int[] shape) => Op("Expand", Attrs.Of(("shape", shape)), x);
    /// <summary>where(cond, a, b).</summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b) { (a, b) = Align(a, b); return Op("Where", null, cond, a, b); }
    /// <summary>dtype conversion.</summary>
    public static Tensor Cast(Tensor x, DType to) => x.DType == to ? x : Op("Cast", Attrs.Of(("to", to.ShortName())), x);
    /// <summary>numpy.take along a dim.</summary>
    public static Tensor Gather(Tensor x, Tensor indices, int dim) => Op("Gather", Attrs.Of(("axis", dim)), x, indices);
    /// <summary>Rows of an embedding table.</summary>
    public static Tensor Embedding(Tensor indices, Tensor weight) => Op("Embedding", null, weight, indices);

    private static int[] AllAxes(Tensor x, int[]? dims) => dims ?? Enumerable.Range(0, x.Rank).ToArray();
    /// <summary>Sum over dims (all when null).</summary>
    public static Tensor Sum(Tensor x, int[]? dims = null, bool keepDim = false) => Op("ReduceSum", Attrs.Of(("axes", AllAxes(x, dims)), ("keepdims", keepDim)), x);
    /// <summary>Mean over dims (all when null).</summary>
    public static Tensor Mean(Tensor x, int[]? dims = null, bool keepDim = false) => Op("ReduceMean", Attrs.Of(("axes", AllAxes(x, dims)), ("keepdims", keepDim)), x);
    /// <summary>Max over dims (all when null).</summary>
    public static Tensor Max(Tensor x, int[]? dims = null, bool keepDim = false) => Op("ReduceMax", Attrs.Of(("axes", AllAxes(x, dims)), ("keepdims", keepDim)), x);

    /// <summary>Softmax along a dim.</summary>
    public static Tensor Softmax(Tensor x, int dim) => Op("Softmax", Attrs.Of(("axis", dim)), x);
    /// <summary>Log-softmax along a dim.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => Op("LogSoftmax", Attrs.Of(("axis", dim)), x);
    /// <summary>Layer norm over the last dim.</summary>
    public static Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps = 1e-5) => Op("LayerNorm", Attrs.Of(("eps", eps)), x, weight, bias);
    /// <summary>RMS norm over the last dim (Llama).</summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, double eps = 1e-6) => Op("RMSNorm", Attrs.Of(("eps", eps)), x, weight);
    /// <summary>Rotary position embedding on [B, H, T, D] (rotate-half convention).</summary>
    public static Tensor Rope(Tensor x, double theta = 10000.0, int positionOffset = 0) =>
        Op("Rope", positionOffset == 0 ? Attrs.Of(("base", theta)) : Attrs.Of(("base", theta), ("position_offset", positionOffset)), x);
    /// <summary>Fills the strict upper triangle of the last two dims (key index &gt; query index + offset).</summary>
    public static Tensor CausalMask(Tensor scores, double fill = double.NegativeInfinity, int offset = 0) =>
        Op("CausalMask", Attrs.Of(("fill", fill), ("offset", offset)), scores);

    /// <summary>Dropout: identity when not <paramref name="training"/> or p = 0; otherwise a seeded mask.</summary>
    public static Tensor Dropout(Tensor x, double p, bool training, long seed)
    {
        if (!training || p == 0) return x;
        if (p < 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), $"dropout probability must be in [0, 1), got {p}");
        var attrs = Attrs.Of(("p", p), ("seed", seed));
        if (x.IsSymbolic) return Dispatch.Call("Dropout", attrs, x, x.Tracer!.StepSeed)[0];
        // Eager: a fresh seed from the default generator each call.
        var stepSeed = new Tensor(DenseTensor.Scalar((long)(Generator.Default.NextUInt64() >> 1)));
        return Dispatch.Call("Dropout", attrs, x, stepSeed)[0];
    }

    /// <summary>softmax(q·kᵀ·scale [+ causal mask])·v on [B, H, T, D].</summary>
    public static Tensor ScaledDotProductAttention(Tensor q, Tensor k, Tensor v, bool isCausal = false, double? scale = null)
    {
        double s = scale ?? 1.0 / Math.Sqrt(q.Size(-1));
        var scores = Dispatch.Call1("MatMul", Attrs.Of(("trans_b", true)), q, k) * Tensor.Scalar((float)s);
        if (isCausal) scores = CausalMask(scores);
        return MatMul(Softmax(scores, -1), v);
    }

    /// <summary>Mean cross-entropy of logits [..., C] against int64 class targets [...].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, long ignoreIndex = -100) =>
        Op("CrossEntropy", Attrs.Of(("ignore_index", ignoreIndex)), logits, target);
    /// <summary>Mean squared error.</summary>
    public static Tensor MseLoss(Tensor pred, Tensor target) => Op("MseLoss", null, pred, target);
}
