using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Minimum over <c>axes</c> (torch.amin; all axes when absent or empty), <c>keepdims</c> default true.</summary>
public sealed class ReduceMin : ReduceOp
{
    /// <inheritdoc/>
    public override string Name => "ReduceMin";

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (axes, _) = Params(inputs[0].Shape, attrs, Name);
        return [Reduce(inputs[0], axes, ReduceMode.Min, outputTypes[0].Shape)];
    }

    /// <summary>To the minimal elements; ties share the gradient evenly (torch.amin's rule).</summary>
    public override Value?[] Gradient(GradContext c) => [ReduceMax.ExtremumGradient(c, Name)];
}
