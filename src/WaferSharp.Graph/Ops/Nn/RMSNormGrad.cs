using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Backward of <see cref="RMSNorm"/> {eps}, inputs (g, x, w), outputs (dx, dw). With r = rsqrt(mean(x²) + eps)
/// and ĝ = g·w: dx = r·ĝ - x·r³·mean(ĝ·x); dw = Σ_rows g·x·r.
/// </summary>
public sealed class RMSNormGrad : OpDef
{
    /// <inheritdoc/>
    public override string Name => "RMSNormGrad";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Normalization;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (3, 3);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        LayerNorm.CheckParams(Name, inputs, 2, attrs, 1);
        if (inputs[0] != inputs[1]) throw new ShapeException($"RMSNormGrad: gradient {inputs[0]} and x {inputs[1]} differ");
        return [inputs[1], inputs[2]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (g, x) = (inputs[0], inputs[1]);
        float eps = attrs.GetFloat("eps", 1e-6f);
        int d = x.Shape[-1];
        float[] gs = (float[])g.Storage, xs = (float[])x.Storage, w = (float[])inputs[2].Storage;
        var dx = DenseTensor.Zeros(x.Shape);
        var dw = DenseTensor.Zeros(new Shape(d));
        float[] dxs = (float[])dx.Storage;
        int rows = d == 0 ? 0 : xs.Length / d;
        var rs = new float[rows];
        void Row(int r, float[] gw)
        {
            var xr = xs.AsSpan(r * d, d);
            float s = Rstd(xr, eps);
            rs[r] = s;
            TensorPrimitives.Multiply(gs.AsSpan(r * d, d), w, gw);
            float c = TensorPrimitives.Dot(gw, xr) / d;
            var o = dxs.AsSpan(r * d, d);
            // o = s·gw - x·s³·c
            TensorPrimitives.Multiply(gw, s, o);
            TensorPrimitives.MultiplyAdd(xr, -s * s * s * c, o, o);
        }
        if (xs.Length >= RowKernels.ParallelThreshold && rows > 1)
            Parallel.For(0, rows, () => new float[d], (r, _, buf) => { Row(r, buf); return buf; }, _ => { });
        else { var buf = new float[d]; for (int r = 0; r < rows; r++) Row(r, buf); }
        // Deterministic serial reduction for the weight gradient.
        var dws = dw.AsFloat();
        var t = new float[d];
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Multiply(xs.AsSpan(r * d, d), rs[r], t);
            TensorPrimitives.MultiplyAdd(gs.AsSpan(r * d, d), t, dws, dws);
        }
        return [dx, dw];
    }

    private static float Rstd(ReadOnlySpan<float> x, float eps) => RMSNorm.Rstd(x, eps);

    /// <summary>Recompute r, the dot and both outputs ≈ 9 FLOPs per element of x.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(9 * inputs[1].Numel, inputs.Sum(t => t.Bytes), outputs.Sum(t => t.Bytes));
}
