using System.Numerics.Tensors;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Backward of <see cref="LogSoftmax"/> {axis} with inputs (y, g): dx = g - exp(y)·Σ_axis g.</summary>
public sealed class LogSoftmaxGrad : OpDef
{
    /// <inheritdoc/>
    public override string Name => "LogSoftmaxGrad";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Normalization;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        RowKernels.CheckFloat(Name, inputs[0]);
        if (inputs[0] != inputs[1]) throw new ShapeException($"LogSoftmaxGrad: y {inputs[0]} and gradient {inputs[1]} differ");
        RowKernels.Axis(Name, inputs[0].Shape, attrs.GetInt("axis", -1));
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (y, g) = (inputs[0], inputs[1]);
        var o = DenseTensor.Zeros(y.Shape);
        RowKernels.Run((float[])y.Storage, (float[])g.Storage, (float[])o.Storage, y.Shape, y.Shape.Axis(attrs.GetInt("axis", -1)), Row);
        return [o];
    }

    private static void Row(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dx)
    {
        float sum = TensorPrimitives.Sum(g);
        TensorPrimitives.Exp(y, dx);
        TensorPrimitives.MultiplyAdd(dx, -sum, g, dx);
    }

    /// <summary>sum, exp, multiply-add ≈ 4 FLOPs per element.</summary>
    protected override double FlopsPerElement => 4;
}
