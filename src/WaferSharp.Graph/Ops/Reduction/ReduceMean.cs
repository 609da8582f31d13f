using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Mean over <c>axes</c> (all when absent or empty), <c>keepdims</c> default true: the sum divided by the count.</summary>
public sealed class ReduceMean : ReduceOp
{
    /// <inheritdoc/>
    public override string Name => "ReduceMean";

    private static long Count(Shape s, int[] axes) { long n = 1; foreach (var a in axes) n *= s[a]; return n; }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        var (axes, _) = Params(x.Shape, attrs, Name);
        var o = Reduce(x, axes, ReduceMode.Sum, outputTypes[0].Shape);
        float n = Count(x.Shape, axes);
        System.Numerics.Tensors.TensorPrimitives.Divide(o.AsFloat(), n, o.AsFloat());
        return [o];
    }

    /// <summary>The gradient divided by the count and broadcast back over the reduced axes.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var (b, x) = (c.B, c.X(0));
        var (axes, _) = Params(x.Shape, c.Attrs, Name);
        var g = b.ScaleBy(c.GradOutput, 1.0 / Count(x.Shape, axes));
        return [b.Expand(KeepDimsForm(b, g, x.Shape, axes), x.Shape)];
    }
}
