using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Unsqueeze {axes}: inserts size-1 axes; axes index the output (rank = input rank + count), as in ONNX.
/// </summary>
public sealed class Unsqueeze : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Unsqueeze";

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var s = inputs[0].Shape;
        var axes = attrs.GetInts("axes");
        int r = s.Rank + axes.Length;
        var ins = new bool[r];
        foreach (var a in axes)
        {
            int ax = a < 0 ? a + r : a;
            if (ax < 0 || ax >= r) throw new ShapeException($"Unsqueeze: axis {a} is out of range for output rank {r} (input {s})");
            if (ins[ax]) throw new ShapeException($"Unsqueeze: axis {a} is repeated in {Fmt(axes)} (input {s})");
            ins[ax] = true;
        }
        var d = new int[r];
        for (int i = 0, j = 0; i < r; i++) d[i] = ins[i] ? 1 : s[j++];
        return [inputs[0].WithShape(new Shape(d))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) =>
        [LayoutKernels.CopyAs(inputs[0], outputTypes[0].Shape)];

    /// <summary>Reshape the gradient back to the input's shape.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Reshape(c.GradOutput, c.X(0).Shape.ToArray())];
}
