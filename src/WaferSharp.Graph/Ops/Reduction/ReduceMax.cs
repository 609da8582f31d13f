using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Maximum over <c>axes</c> (torch.amax; all axes when absent or empty), <c>keepdims</c> default true.</summary>
public sealed class ReduceMax : ReduceOp
{
    /// <inheritdoc/>
    public override string Name => "ReduceMax";

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (axes, _) = Params(inputs[0].Shape, attrs, Name);
        return [Reduce(inputs[0], axes, ReduceMode.Max, outputTypes[0].Shape)];
    }

    /// <summary>To the maximal elements; ties share the gradient evenly (torch.amax's rule).</summary>
    public override Value?[] Gradient(GradContext c) => [ExtremumGradient(c, Name)];

    /// <summary>Shared by ReduceMax/ReduceMin: g·[x == y] / count(x == y) per reduced slice.</summary>
    internal static Value ExtremumGradient(GradContext c, string name)
    {
        var (b, x) = (c.B, c.X(0));
        var (axes, _) = Params(x.Shape, c.Attrs, name);
        var y = KeepDimsForm(b, c.Outputs[0], x.Shape, axes);
        var g = KeepDimsForm(b, c.GradOutput, x.Shape, axes);
        var mask = b.Cast(b.Op("Equal", x, y), x.DType);
        var count = b.ReduceSum(mask, axes, keepDims: true);
        return b.Mul(mask, b.Div(g, count));
    }
}
