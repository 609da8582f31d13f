using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>LogSoftmax {axis} (default -1), computed stably as x - max - log Σ exp(x - max).</summary>
public sealed class LogSoftmax : OpDef
{
    /// <inheritdoc/>
    public override string Name => "LogSoftmax";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Normalization;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        RowKernels.CheckFloat(Name, inputs[0]);
        RowKernels.Axis(Name, inputs[0].Shape, attrs.GetInt("axis", -1));
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        var o = DenseTensor.Zeros(x.Shape);
        RowKernels.Run((float[])x.Storage, null, (float[])o.Storage, x.Shape, x.Shape.Axis(attrs.GetInt("axis", -1)), RowKernels.LogSoftmax);
        return [o];
    }

    /// <summary>Fused LogSoftmaxGrad(y, g) = g - exp(y)·Σ g.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Op("LogSoftmaxGrad", c.Attrs, c.Outputs[0], c.GradOutput)];

    /// <summary>max, subtract, exp, sum, log/subtract ≈ 5 FLOPs per element.</summary>
    protected override double FlopsPerElement => 5;
}
