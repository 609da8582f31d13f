using WaferSharp.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Broadcasts to attribute <c>shape</c> with ONNX Expand semantics: the output is broadcast(input.shape, shape),
/// so <c>shape</c> may hold 1s where the input is bigger (NumPy broadcast_to is the case where it does not). Any dtype.
/// </summary>
public sealed class Expand : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Expand";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Layout;
    /// <inheritdoc/>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var target = new Shape(attrs.GetInts("shape"));
        try { return [inputs[0].WithShape(Shape.Broadcast(inputs[0].Shape, target))]; }
        catch (ArgumentException) { throw new ShapeException($"Expand: cannot expand {inputs[0].Shape} to {target}"); }
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        var o = DenseTensor.Zeros(outputTypes[0].Shape, x.DType);
        if (o.Length == 0) return [o];
        switch (o.Storage)
        {
            case float[] d: Broadcast.Expand<float>((float[])x.Storage, x.Shape, d, o.Shape); break;
            case ushort[] d: Broadcast.Expand<ushort>((ushort[])x.Storage, x.Shape, d, o.Shape); break;
            case long[] d: Broadcast.Expand<long>((long[])x.Storage, x.Shape, d, o.Shape); break;
            case int[] d: Broadcast.Expand<int>((int[])x.Storage, x.Shape, d, o.Shape); break;
            case bool[] d: Broadcast.Expand<bool>((bool[])x.Storage, x.Shape, d, o.Shape); break;
        }
        return [o];
    }

    /// <summary>The gradient summed back over the broadcast axes.</summary>
    public override Value?[] Gradient(GradContext c) => [c.IsDiff(0) ? c.B.SumTo(c.GradOutput, c.X(0).Shape) : null];

    /// <summary>No arithmetic: reads the input once, writes the output.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(0, inputs[0].Bytes, outputs[0].Bytes);
}
