using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Backward of <see cref="LayerNorm"/> {eps}, inputs (g, x[, w]); outputs dx, and with w also dw and db.
/// Statistics are recomputed from x (cheaper than storing them). With x̂ = (x - μ)·rstd and ĝ = g·w:
/// dx = rstd·(ĝ - mean(ĝ) - x̂·mean(ĝ·x̂)); dw = Σ_rows g·x̂; db = Σ_rows g.
/// </summary>
public sealed class LayerNormGrad : OpDef
{
    /// <inheritdoc/>
    public override string Name => "LayerNormGrad";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Normalization;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 3);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        LayerNorm.CheckParams(Name, inputs, 2, attrs, 1);
        if (inputs[0] != inputs[1]) throw new ShapeException($"LayerNormGrad: gradient {inputs[0]} and x {inputs[1]} differ");
        return inputs.Count == 2 ? [inputs[1]] : [inputs[1], inputs[2], inputs[2]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (g, x) = (inputs[0], inputs[1]);
        float eps = attrs.GetFloat("eps", 1e-5f);
        int d = x.Shape[-1];
        float[] gs = (float[])g.Storage, xs = (float[])x.Storage;
        float[]? w = inputs.Count > 2 ? (float[])inputs[2].Storage : null;
        var dx = DenseTensor.Zeros(x.Shape);
        var dw = DenseTensor.Zeros(new Shape(d));
        var db = DenseTensor.Zeros(new Shape(d));
        float[] dxs = (float[])dx.Storage;
        int rows = d == 0 ? 0 : xs.Length / d;
        var mean = new float[rows];
        var rstd = new float[rows];
        void Row(int r, float[] buf)
        {
            var xh = buf.AsSpan(0, d); var gw = buf.AsSpan(d, d);
            var (m, s) = LayerNorm.Stats(xs.AsSpan(r * d, d), xh, eps);
            mean[r] = m; rstd[r] = s;
            TensorPrimitives.Multiply(xh, s, xh);
            var gr = gs.AsSpan(r * d, d);
            if (w is not null) TensorPrimitives.Multiply(gr, w, gw); else gr.CopyTo(gw);
            float c1 = TensorPrimitives.Sum(gw) / d;
            float c2 = TensorPrimitives.Dot(gw, xh) / d;
            var o = dxs.AsSpan(r * d, d);
            // o = (gw - c1 - xh·c2)·s
            TensorPrimitives.MultiplyAdd(xh, -c2, gw, o);
            TensorPrimitives.Subtract(o, c1, o);
            TensorPrimitives.Multiply(o, s, o);
        }
        if (xs.Length >= RowKernels.ParallelThreshold && rows > 1)
            Parallel.For(0, rows, () => new float[2 * d], (r, _, buf) => { Row(r, buf); return buf; }, _ => { });
        else { var buf = new float[2 * d]; for (int r = 0; r < rows; r++) Row(r, buf); }
        if (w is null) return [dx];
        // Parameter grads: a serial pass over rows so the summation order (and result) is deterministic.
        var dws = dw.AsFloat(); var dbs = db.AsFloat();
        var t = new float[d];
        for (int r = 0; r < rows; r++)
        {
            var gr = gs.AsSpan(r * d, d);
            TensorPrimitives.Subtract(xs.AsSpan(r * d, d), mean[r], t);
            TensorPrimitives.Multiply(t, rstd[r], t);
            TensorPrimitives.MultiplyAdd(gr, t, dws, dws);
            TensorPrimitives.Add(dbs, gr, dbs);
        }
        return [dx, dw, db];
    }

    /// <summary>Recompute statistics plus the three reductions ≈ 14 FLOPs per element of x.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(14 * inputs[1].Numel, inputs.Sum(t => t.Bytes), outputs.Sum(t => t.Bytes));
}
