using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// LayerNorm {eps} (inputs x [..., D], optional weight [D], optional bias [D]) over the last dim, as
/// torch.nn.functional.layer_norm: (x - mean)·rsqrt(var + eps)·w + b with the biased variance.
/// </summary>
public sealed class LayerNorm : OpDef
{
    /// <inheritdoc/>
    public override string Name => "LayerNorm";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Normalization;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (1, 3);

    internal static void CheckParams(string op, IReadOnlyList<TensorType> inputs, int first, Attrs attrs, int xIndex)
    {
        var x = inputs[xIndex];
        RowKernels.CheckFloat(op, x);
        if (x.Rank == 0) throw new ShapeException($"{op}: x must have rank ≥ 1, got {x}");
        if (attrs.Has("axis") && attrs.GetInt("axis") is int a && a != -1 && a != x.Rank - 1)
            throw new ShapeException($"{op}: only the last axis is supported (axis {a} for {x})");
        for (int i = first; i < inputs.Count; i++)
            if (inputs[i].Rank != 1 || inputs[i].Shape[0] != x.Shape[-1] || inputs[i].DType != x.DType)
                throw new ShapeException($"{op}: {(i == first ? "weight" : "bias")} must be {x.DType.ShortName()}[{x.Shape[-1]}] for x {x.Shape}, got {inputs[i]}");
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        CheckParams(Name, inputs, 1, attrs, 0);
        return [inputs[0]];
    }

    /// <summary>Row statistics: mean and 1/sqrt(var + eps), two-pass for accuracy.</summary>
    internal static (float Mean, float Rstd) Stats(ReadOnlySpan<float> x, Span<float> centered, float eps)
    {
        int d = x.Length;
        float mean = TensorPrimitives.Sum(x) / d;
        TensorPrimitives.Subtract(x, mean, centered);
        float var = TensorPrimitives.SumOfSquares(centered) / d;
        return (mean, 1f / MathF.Sqrt(var + eps));
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        float eps = attrs.GetFloat("eps", 1e-5f);
        int d = x.Shape[-1];
        var o = DenseTensor.Zeros(x.Shape);
        if (o.Length == 0) return [o];
        float[] xs = (float[])x.Storage, ys = (float[])o.Storage;
        float[]? w = inputs.Count > 1 ? (float[])inputs[1].Storage : null;
        float[]? b = inputs.Count > 2 ? (float[])inputs[2].Storage : null;
        int rows = xs.Length / d;
        void Row(int r)
        {
            var y = ys.AsSpan(r * d, d);
            var (_, rstd) = Stats(xs.AsSpan(r * d, d), y, eps);
            TensorPrimitives.Multiply(y, rstd, y);
            if (w is not null) TensorPrimitives.Multiply(y, w, y);
            if (b is not null) TensorPrimitives.Add(y, b, y);
        }
        if (xs.Length >= RowKernels.ParallelThreshold && rows > 1) Parallel.For(0, rows, Row);
        else for (int r = 0; r < rows; r++) Row(r);
        return [o];
    }

    /// <summary>One fused LayerNormGrad(g, x[, w]) node gives dx and, with a weight, dw and db.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var ins = new List<Value> { c.GradOutput, c.X(0) };
        if (c.Inputs.Length > 1) ins.Add(c.X(1));
        var r = c.B.Emit("LayerNormGrad", Attrs.Of(("eps", c.Attrs.GetDouble("eps", 1e-5))), ins.ToArray());
        return c.Inputs.Length switch { 1 => [r[0]], 2 => [r[0], r[1]], _ => [r[0], r[1], r[2]] };
    }

    /// <summary>Mean, centre, square-sum, scale, affine ≈ 8 FLOPs per element.</summary>
    protected override double FlopsPerElement => 8;
}
