using WaferSharp.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// torch.matmul: batched with broadcast batch dims; rank-1 operands are promoted and the promoted dim removed.
/// Attributes <c>trans_a</c>/<c>trans_b</c> (default false) use the transpose of the last two dims of an
/// operand without materializing it (the backward pass uses them). Attribute <c>alpha</c> (default 1) scales the
/// product inside the GEMM (C = alpha·op(A)·op(B)); the ONNX importer folds attention's score scale into it.
/// </summary>
public sealed class MatMul : OpDef
{
    /// <inheritdoc/>
    public override string Name => "MatMul";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Contraction;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <summary>The resolved problem: batch shape, m, n, k, per-operand batch strides.</summary>
    internal readonly record struct Problem(Shape Out, Shape Batch, int M, int N, int K, bool TA, bool TB, bool VecA, bool VecB);

    internal Problem Resolve(TensorType a, TensorType b, Attrs attrs)
    {
        if (a.DType != b.DType || !a.DType.IsFloating()) throw new ShapeException($"MatMul: operands must share a floating dtype ({a} vs {b})");
        if (a.Rank == 0 || b.Rank == 0) throw new ShapeException($"MatMul: operands must have rank ≥ 1 ({a} @ {b})");
        bool ta = attrs.GetBool("trans_a", false), tb = attrs.GetBool("trans_b", false);
        bool vecA = a.Rank == 1, vecB = b.Rank == 1;
        if ((vecA && ta) || (vecB && tb)) throw new ShapeException("MatMul: trans_a/trans_b need rank ≥ 2");
        var sa = vecA ? new Shape(1, a.Shape[0]) : a.Shape;
        var sb = vecB ? new Shape(b.Shape[0], 1) : b.Shape;
        int m = ta ? sa[-1] : sa[-2], ka = ta ? sa[-2] : sa[-1];
        int kb = tb ? sb[-1] : sb[-2], n = tb ? sb[-2] : sb[-1];
        if (ka != kb) throw new ShapeException($"MatMul: inner dimensions differ: {a.Shape}{(ta ? "ᵀ" : "")} @ {b.Shape}{(tb ? "ᵀ" : "")} ({ka} vs {kb})");
        Shape batch;
        try { batch = Shape.Broadcast(new Shape(sa.Dims[..^2].ToArray()), new Shape(sb.Dims[..^2].ToArray())); }
        catch (ArgumentException e) { throw new ShapeException($"MatMul: batch dims of {a.Shape} and {b.Shape} do not broadcast: {e.Message}"); }
        var od = batch.ToList();
        if (!vecA) od.Add(m);
        if (!vecB) od.Add(n);
        return new Problem(new Shape(od), batch, m, n, ka, ta, tb, vecA, vecB);
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        return [new TensorType(inputs[0].DType, Resolve(inputs[0], inputs[1], attrs).Out)];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (a, b) = (inputs[0], inputs[1]);
        var p = Resolve(new TensorType(a.DType, a.Shape), new TensorType(b.DType, b.Shape), attrs);
        var o = p.K == 0 ? DenseTensor.Zeros(outputTypes[0].Shape) : DenseTensor.Uninitialized(outputTypes[0].Shape);
        int nb = (int)p.Batch.Numel;
        var aBatch = a.Rank <= 2 ? Shape.Scalar : new Shape(a.Shape.Dims[..^2].ToArray());
        var bBatch = b.Rank <= 2 ? Shape.Scalar : new Shape(b.Shape.Dims[..^2].ToArray());
        int lda = p.TA ? p.M : p.K, ldb = p.TB ? p.K : p.N;
        float alpha = attrs.GetFloat("alpha", 1f);
        long aMat = (long)p.M * p.K, bMat = (long)p.K * p.N, cMat = (long)p.M * p.N;
        if (nb == 1 || (aBatch.Equals(p.Batch) && bBatch.Equals(p.Batch)) || (aBatch.Equals(p.Batch) && bBatch.Numel == 1) || (bBatch.Equals(p.Batch) && aBatch.Numel == 1))
        {
            // Uniform strides: one batched call (stride 0 broadcasts a single matrix).
            Sgemm.MultiplyBatched(p.TA, p.TB, p.M, p.N, p.K, alpha, a.AsFloat(), lda, aBatch.Numel == 1 ? 0 : aMat,
                b.AsFloat(), ldb, bBatch.Numel == 1 ? 0 : bMat, 0f, o.AsFloat(), p.N, cMat, nb);
            return [o];
        }
        // General broadcast of batch dims: map each output batch index to operand batch offsets.
        var sa = Broadcast.PaddedStrides(aBatch, p.Batch.Rank);
        var sb = Broadcast.PaddedStrides(bBatch, p.Batch.Rank);
        var idx = new int[p.Batch.Rank];
        for (int i = 0; i < nb; i++)
        {
            long ia = 0, ib = 0;
            for (int d = 0; d < idx.Length; d++) { ia += idx[d] * sa[d]; ib += idx[d] * sb[d]; }
            Sgemm.Multiply(p.TA, p.TB, p.M, p.N, p.K, alpha, a.AsFloat().Slice((int)(ia * aMat)), lda,
                b.AsFloat().Slice((int)(ib * bMat)), ldb, 0f, o.AsFloat().Slice((int)(i * cMat), (int)cMat), p.N);
            for (int d = idx.Length - 1; d >= 0; d--) { if (++idx[d] < p.Batch[d]) break; idx[d] = 0; }
        }
        return [o];
    }

    /// <summary>dA = alpha·g·Bᵀ, dB = alpha·Aᵀ·g (transposes folded into trans flags, alpha into the GEMMs), summed over broadcast batch dims.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var bld = c.B;
        Value a = c.X(0), b = c.X(1), g = c.GradOutput;
        bool ta = c.Attrs.GetBool("trans_a", false), tb = c.Attrs.GetBool("trans_b", false);
        double alpha = c.Attrs.GetDouble("alpha", 1.0);
        Value a2 = a.Rank == 1 ? bld.Reshape(a, 1, a.Shape[0]) : a;
        Value b2 = b.Rank == 1 ? bld.Reshape(b, b.Shape[0], 1) : b;
        var p = Resolve(a2.Type, b2.Type, c.Attrs);
        var g2 = bld.Reshape(g, p.Out.ToArray()); // g with the promoted dims restored
        // C = op(A)·op(B).  d op(A) = g·op(B)ᵀ ; d op(B) = op(A)ᵀ·g.
        Value da = ta ? Mm(bld, b2, g2, tb, true, alpha) : Mm(bld, g2, b2, false, !tb, alpha);   // A = op(A)ᵀ when ta: dA = (g·op(B)ᵀ)ᵀ = op(B)·gᵀ
        Value db = tb ? Mm(bld, g2, a2, true, ta, alpha) : Mm(bld, a2, g2, !ta, false, alpha);   // B = op(B)ᵀ when tb: dB = gᵀ·op(A)
        da = bld.Reshape(bld.SumTo(da, a2.Shape), a.Shape.ToArray());
        db = bld.Reshape(bld.SumTo(db, b2.Shape), b.Shape.ToArray());
        return [da, db];
    }

    private static Value Mm(GraphBuilder b, Value x, Value y, bool tx, bool ty, double alpha)
    {
        if (alpha != 1.0) return b.Op("MatMul", Attrs.Of(("trans_a", tx), ("trans_b", ty), ("alpha", alpha)), x, y);
        return b.Op("MatMul", tx || ty ? Attrs.Of(("trans_a", tx), ("trans_b", ty)) : null, x, y);
    }

    /// <summary>2·M·N·K per batch element (alpha is applied to the accumulators as they are stored, no extra pass).</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs)
    {
        var p = Resolve(inputs[0], inputs[1], attrs);
        return new OpCost(2L * p.Batch.Numel * p.M * p.N * p.K, inputs[0].Bytes + inputs[1].Bytes, outputs[0].Bytes);
    }
}
