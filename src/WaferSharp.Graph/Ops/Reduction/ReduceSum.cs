using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Sum over <c>axes</c> (all when absent or empty), <c>keepdims</c> default true.</summary>
public sealed class ReduceSum : ReduceOp
{
    /// <inheritdoc/>
    public override string Name => "ReduceSum";

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (axes, _) = Params(inputs[0].Shape, attrs, Name);
        return [Reduce(inputs[0], axes, ReduceMode.Sum, outputTypes[0].Shape)];
    }

    /// <summary>The gradient broadcast back over the reduced axes.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var x = c.X(0);
        var (axes, _) = Params(x.Shape, c.Attrs, Name);
        return [c.B.Expand(KeepDimsForm(c.B, c.GradOutput, x.Shape, axes), x.Shape)];
    }
}
