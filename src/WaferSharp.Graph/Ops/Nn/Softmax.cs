using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Softmax {axis} (default -1), computed stably as exp(x - max) / Σ exp(x - max).</summary>
public sealed class Softmax : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Softmax";
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
        RowKernels.Run((float[])x.Storage, null, (float[])o.Storage, x.Shape, x.Shape.Axis(attrs.GetInt("axis", -1)), RowKernels.Softmax);
        return [o];
    }

    /// <summary>Fused SoftmaxGrad(y, g) = y·(g - Σ g·y).</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Op("SoftmaxGrad", c.Attrs, c.Outputs[0], c.GradOutput)];

    /// <summary>max, subtract, exp, sum, divide ≈ 5 FLOPs per element.</summary>
    protected override double FlopsPerElement => 5;
}
