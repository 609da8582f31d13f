using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Reshape {shape}: same elements, new dims. One entry may be -1 (inferred); 0 copies the input's dim at that
/// position (ONNX semantics with <c>allowzero</c> unset), so a shape taken from an ONNX file imports unchanged.
/// </summary>
public sealed class Reshape : LayoutOp
{
    /// <inheritdoc/>
    public override string Name => "Reshape";

    /// <summary>Resolves -1 and 0 entries of <paramref name="spec"/> against <paramref name="input"/>; throws naming both.</summary>
    public static Shape Resolve(string op, Shape input, int[] spec)
    {
        var d = (int[])spec.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.Length; i++)
        {
            if (d[i] == -1)
            {
                if (infer >= 0) throw new ShapeException($"{op}: target shape {LayoutOp.Fmt(spec)} has more than one -1 (input {input})");
                infer = i;
                continue;
            }
            if (d[i] == 0)
            {
                if (i >= input.Rank) throw new ShapeException($"{op}: target shape {LayoutOp.Fmt(spec)} copies dim {i} (0) but input {input} has rank {input.Rank}");
                d[i] = input[i];
            }
            if (d[i] < 0) throw new ShapeException($"{op}: target shape {LayoutOp.Fmt(spec)} has invalid dim {d[i]} (input {input})");
            known *= d[i];
        }
        long n = input.Numel;
        if (infer >= 0)
        {
            if (known == 0 || n % known != 0)
                throw new ShapeException($"{op}: cannot infer the -1 in {LayoutOp.Fmt(spec)} for input {input} ({n} elements are not a multiple of {known})");
            d[infer] = checked((int)(n / known));
        }
        else if (known != n)
            throw new ShapeException($"{op}: cannot reshape {input} ({n} elements) to {LayoutOp.Fmt(spec)} ({known} elements)");
        return new Shape(d);
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        return [inputs[0].WithShape(Resolve(Name, inputs[0].Shape, attrs.GetInts("shape")))];
    }

    /// <summary>Copies (does not alias) so no consumer can observe another's in-place writes.</summary>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) =>
        [LayoutKernels.CopyAs(inputs[0], outputTypes[0].Shape)];

    /// <summary>Reshape the gradient back to the input's shape.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Reshape(c.GradOutput, c.X(0).Shape.ToArray())];
}
