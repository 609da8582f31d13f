using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Squeeze {axes}: removes the listed size-1 axes, or every size-1 axis when <c>axes</c> is absent (ONNX).
/// A Reshape in disguise, kept separate so ONNX graphs round-trip.
/// </summary>
public sealed class Squeeze : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Squeeze";

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var s = inputs[0].Shape;
        var drop = new bool[s.Rank];
        if (attrs.Has("axes"))
        {
            foreach (var a in attrs.GetInts("axes"))
            {
                int ax = a < 0 ? a + s.Rank : a;
                if (ax < 0 || ax >= s.Rank) throw new ShapeException($"Squeeze: axis {a} is out of range for shape {s}");
                if (s[ax] != 1) throw new ShapeException($"Squeeze: axis {a} of shape {s} has size {s[ax]}, not 1");
                drop[ax] = true;
            }
        }
        else for (int i = 0; i < s.Rank; i++) drop[i] = s[i] == 1;
        var d = new List<int>();
        for (int i = 0; i < s.Rank; i++) if (!drop[i]) d.Add(s[i]);
        return [inputs[0].WithShape(new Shape(d))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) =>
        [LayoutKernels.CopyAs(inputs[0], outputTypes[0].Shape)];

    /// <summary>Reshape the gradient back to the input's shape.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Reshape(c.GradOutput, c.X(0).Shape.ToArray())];
}
