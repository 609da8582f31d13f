using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Flatten {axis} (default 1): [d0..d(axis-1)] and [d(axis)..] become the two dims of a matrix (ONNX; axis in [-r, r]).</summary>
public sealed class Flatten : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Flatten";

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var s = inputs[0].Shape;
        int a = attrs.GetInt("axis", 1);
        int ax = a < 0 ? a + s.Rank : a;
        if (ax < 0 || ax > s.Rank) throw new ShapeException($"Flatten: axis {a} is out of range for shape {s}");
        return [inputs[0].WithShape(new Shape(checked((int)s.Prod(0, ax)), checked((int)s.Prod(ax, s.Rank))))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) =>
        [LayoutKernels.CopyAs(inputs[0], outputTypes[0].Shape)];

    /// <summary>Reshape the gradient back to the input's shape.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Reshape(c.GradOutput, c.X(0).Shape.ToArray())];
}
