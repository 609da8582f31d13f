using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Logical not of a bool tensor.</summary>
public sealed class Not : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Not";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        if (inputs[0].DType != DType.Bool) throw new ShapeException($"Not: needs a bool tensor, got {inputs[0]}");
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var o = DenseTensor.Zeros(outputTypes[0].Shape, DType.Bool);
        var x = inputs[0].AsBool(); var d = o.AsBool();
        for (int i = 0; i < d.Length; i++) d[i] = !x[i];
        return [o];
    }

    /// <summary>Not differentiable.</summary>
    public override Value?[] Gradient(GradContext c) => [null];
}
