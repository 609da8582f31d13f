using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>RMSNorm {eps} (inputs x [..., D], weight [D]) over the last dim, Llama style: x·rsqrt(mean(x²) + eps)·w.</summary>
public sealed class RMSNorm : OpDef
{
    /// <inheritdoc/>
    public override string Name => "RMSNorm";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Normalization;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        LayerNorm.CheckParams(Name, inputs, 1, attrs, 0);
        return [inputs[0]];
    }

    /// <summary>1/sqrt(mean(x²) + eps) of one row.</summary>
    internal static float Rstd(ReadOnlySpan<float> x, float eps) => 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(x) / x.Length + eps);

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        float eps = attrs.GetFloat("eps", 1e-6f);
        int d = x.Shape[-1];
        var o = DenseTensor.Zeros(x.Shape);
        if (o.Length == 0) return [o];
        float[] xs = (float[])x.Storage, ys = (float[])o.Storage, w = (float[])inputs[1].Storage;
        int rows = xs.Length / d;
        void Row(int r)
        {
            var xr = xs.AsSpan(r * d, d); var y = ys.AsSpan(r * d, d);
            TensorPrimitives.Multiply(xr, Rstd(xr, eps), y);
            TensorPrimitives.Multiply(y, w, y);
        }
        if (xs.Length >= RowKernels.ParallelThreshold && rows > 1) Parallel.For(0, rows, Row);
        else for (int r = 0; r < rows; r++) Row(r);
        return [o];
    }

    /// <summary>One fused RMSNormGrad(g, x, w) node gives dx and dw.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var r = c.B.Emit("RMSNormGrad", Attrs.Of(("eps", c.Attrs.GetDouble("eps", 1e-6))), c.GradOutput, c.X(0), c.X(1));
        return [r[0], r[1]];
    }

    /// <summary>Square-sum, scale, weight ≈ 4 FLOPs per element.</summary>
    protected override double FlopsPerElement => 4;
}
