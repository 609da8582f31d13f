using WaferSharp.Graph;

namespace WaferSharp.Compiler.Kernels;

/// <summary>An op (or fused group) has no mesh kernel; the message names it.</summary>
public sealed class UnsupportedOpException(string message) : NotSupportedException(message);

/// <summary>
/// The mesh kernel library: one kernel per op family, and the rule that maps a graph node to its family and work.
/// </summary>
public static class KernelLibrary
{
    /// <summary>GEMM (SUMMA / MeshGEMM).</summary>
    public static readonly GemmKernel Gemm = new();
    /// <summary>GEMV (MeshGEMV).</summary>
    public static readonly GemvKernel Gemv = new();
    /// <summary>Elementwise and fused chains.</summary>
    public static readonly ElementwiseKernel Elementwise = new();
    /// <summary>Reductions.</summary>
    public static readonly ReductionKernel Reduction = new();
    /// <summary>Softmax and softmax cross-entropy.</summary>
    public static readonly SoftmaxKernel Softmax = new();
    /// <summary>Layer/RMS norm.</summary>
    public static readonly NormKernel Norm = new();
    /// <summary>Fused attention.</summary>
    public static readonly AttentionKernel Attention = new();
    /// <summary>Embedding / gather.</summary>
    public static readonly EmbeddingKernel Embedding = new();
    /// <summary>Optimizer update.</summary>
    public static readonly OptimizerUpdateKernel OptimizerUpdate = new();
    /// <summary>Data movement.</summary>
    public static readonly LayoutKernel Layout = new();

    /// <summary>Every kernel family.</summary>
    public static IReadOnlyList<MeshKernel> All { get; } = [Gemm, Gemv, Elementwise, Reduction, Softmax, Norm, Attention, Embedding, OptimizerUpdate, Layout];

    /// <summary>Ops that only reinterpret a buffer: no kernel, the value aliases its input.</summary>
    public static bool IsView(Node n) => n.Op.Name is "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze";

    private static readonly HashSet<string> SoftmaxOps = ["Softmax", "SoftmaxGrad", "LogSoftmax", "LogSoftmaxGrad", "CrossEntropy", "CrossEntropyGrad"];
    private static readonly HashSet<string> OptimizerOps = ["AdamUpdate", "SgdUpdate"];

    /// <summary>The kernel and work for one node; throws <see cref="UnsupportedOpException"/> naming ops with no mesh kernel.</summary>
    public static (MeshKernel Kernel, KernelWork Work) For(Node node, CostParams p)
    {
        var ins = node.Inputs.Select(v => v.Type).ToArray();
        var outs = node.Outputs.Select(v => v.Type).ToArray();
        var cost = node.Op.Cost(ins, outs, node.Attrs);
        long read = ins.Sum(p.Bytes), written = outs.Sum(p.Bytes);
        long outElems = outs.Length > 0 ? outs[0].Numel : 0;
        string name = node.Op.Name;

        if (name == "MatMul" || name == "Linear") return Contraction(node, cost, p);
        if (OptimizerOps.Contains(name))
        {
            long n = ins[0].Numel;
            return (OptimizerUpdate, new KernelWork { Elements = n, Flops = cost.Flops, BytesRead = 4L * n * node.Inputs.Count(v => v.Type.Numel == n), BytesWritten = 4L * n * outs.Length });
        }
        if (SoftmaxOps.Contains(name))
        {
            var x = name.StartsWith("CrossEntropy", StringComparison.Ordinal) ? ins[0] : outs[0];
            long len = x.Rank == 0 ? 1 : x.Shape[-1];
            var op = name switch { "SoftmaxGrad" => RowOp.SoftmaxGrad, "LogSoftmaxGrad" => RowOp.LogSoftmaxGrad, _ => RowOp.Forward };
            return (Softmax, new KernelWork { Rows = x.Numel / Math.Max(1, len), RowLength = len, Flops = Math.Max(cost.Flops, 5 * x.Numel), RowReductions = name.Contains("Grad") ? 1 : 2, RowOp = op, BytesRead = read, BytesWritten = written });
        }
        switch (node.Op.Kind)
        {
            case OpKind.Elementwise when name == "CausalMask" && outs[0].Rank >= 2:
            {
                // a row program over [..., Tq, Tk]: one fill per row on each PE (Fabric.Kernels.CausalMaskProgram)
                long tk = outs[0].Shape[-1];
                return (Elementwise, new KernelWork { Elements = Math.Max(1, outElems), Rows = outElems / Math.Max(1, tk), RowLength = tk, MaskQueries = outs[0].Shape[-2],
                    MaskOffset = node.Attrs.GetLong("offset", 0), RowOp = RowOp.CausalMask, Flops = cost.Flops, BytesRead = read, BytesWritten = written });
            }
            case OpKind.Elementwise:
                return (Elementwise, new KernelWork { Elements = Math.Max(1, outElems), Flops = cost.Flops, BytesRead = read, BytesWritten = written });
            case OpKind.Normalization:
            {
                var x = ins[0];
                long len = x.Rank == 0 ? 1 : x.Shape[-1];
                int reductions = name.StartsWith("RMSNorm", StringComparison.Ordinal) && !name.EndsWith("Grad", StringComparison.Ordinal) ? 1 : 2;
                var op = name switch { "LayerNormGrad" => RowOp.LayerNormGrad, "RMSNormGrad" => RowOp.RMSNormGrad, _ => RowOp.Forward };
                // the gradients take (g, x[, γ]): with γ they also sum dγ (and dβ) down the PE columns
                return (Norm, new KernelWork { Rows = x.Numel / Math.Max(1, len), RowLength = len, Flops = Math.Max(cost.Flops, x.Numel), RowReductions = reductions, RowOp = op,
                    Affine = op != RowOp.Forward && ins.Length > 2, BytesRead = read, BytesWritten = written });
            }
            case OpKind.Reduction:
            case OpKind.Loss: // MSE loss and its gradient: a reduction / an elementwise pass
            {
                if (name == "MseLossGrad") return (Elementwise, new KernelWork { Elements = Math.Max(1, outElems), Flops = cost.Flops, BytesRead = read, BytesWritten = written });
                long inElems = Math.Max(1, ins[0].Numel);
                long rows = Math.Max(1, outElems);
                if (rows > inElems) rows = 1;
                return (Reduction, new KernelWork { Rows = rows, RowLength = Math.Max(1, inElems / rows), Flops = cost.Flops, BytesRead = read, BytesWritten = written });
            }
            case OpKind.Indexing:
            {
                bool scatter = name.EndsWith("Grad", StringComparison.Ordinal);
                // Embedding(table, ids) / Gather(x, idx): rows moved = output rows; EmbeddingGrad(grad, ids) scatters into the table
                var moved = scatter ? ins[0] : outs[0];
                long len = moved.Rank == 0 ? 1 : moved.Shape[-1];
                long table = scatter ? (outs[0].Rank == 0 ? 1 : outs[0].Numel / Math.Max(1, outs[0].Shape[-1])) : (ins[0].Rank == 0 ? 1 : ins[0].Numel / Math.Max(1, ins[0].Shape[-1]));
                return (Embedding, new KernelWork { Rows = moved.Numel / Math.Max(1, len), RowLength = len, TableRows = table, Scatter = scatter, BytesRead = read, BytesWritten = written, Flops = cost.Flops });
            }
            case OpKind.Layout:
                return (Layout, new KernelWork { Elements = Math.Max(1, outElems), BytesRead = read, BytesWritten = written, Transpose = name == "Transpose" });
        }
        throw new UnsupportedOpException(
            $"op '{name}' (node {node}{(node.Scope is null ? "" : $" in {node.Scope}")}) has no mesh kernel; kernel families: {string.Join(", ", All.Select(k => k.Name))}");
    }

    private static (MeshKernel, KernelWork) Contraction(Node node, OpCost cost, CostParams p)
    {
        var a = node.Inputs[0].Type; var b = node.Inputs[1].Type; var o = node.Outputs[0].Type;
        long m, n, k, batch = 1;
        bool shared;
        if (node.Op.Name == "Linear")
        {
            n = b.Shape[0]; k = b.Shape[1]; m = a.Numel / Math.Max(1, k); shared = true;
        }
        else
        {
            bool ta = node.Attrs.GetBool("trans_a", false), tb = node.Attrs.GetBool("trans_b", false);
            var sa = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape.ToArray();
            var sb = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape.ToArray();
            m = ta ? sa[^1] : sa[^2]; k = ta ? sa[^2] : sa[^1]; n = tb ? sb[^2] : sb[^1];
            long outMat = Math.Max(1, m * n);
            batch = Math.Max(1, o.Numel / outMat);
            bool bBatched = b.Rank > 2 && b.Numel / Math.Max(1, (long)sb[^1] * sb[^2]) > 1;
            bool aBatched = a.Rank > 2 && a.Numel / Math.Max(1, (long)sa[^1] * sa[^2]) > 1;
            shared = !bBatched;
            if (shared && aBatched && !ta) { m *= batch; batch = 1; }           // x[..., M, K] · W[K, N]: fold the batch into M
            else if (!aBatched && bBatched) shared = false;                      // a shared left operand: still independent problems
            else if (shared && aBatched && ta) { k *= batch; batch = 1; }        // gᵀ·x over a batch: the batch is contracted
        }
        bool residentB = shared && node.Inputs[1].Kind == ValueKind.Parameter;
        var work = new KernelWork { Batch = batch, M = m, N = n, K = k, SharedB = shared, ResidentB = residentB, Flops = cost.Flops, BytesRead = p.Bytes(a) + p.Bytes(b), BytesWritten = p.Bytes(o) };
        bool gemv = shared ? batch * m <= GemvKernel.MaxRows : m <= GemvKernel.MaxRows && batch == 1;
        return (gemv ? Gemv : Gemm, work);
    }
}
