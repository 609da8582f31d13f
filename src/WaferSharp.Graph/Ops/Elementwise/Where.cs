using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>torch.where(cond, a, b): cond (bool), a and b (same dtype, any) all broadcast together.</summary>
public sealed class Where : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Where";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (3, 3);
    /// <inheritdoc/>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (c, a, b) = (inputs[0], inputs[1], inputs[2]);
        if (c.DType != DType.Bool) throw new ShapeException($"Where: condition must be bool, got {c}");
        if (a.DType != b.DType) throw new ShapeException($"Where: branch dtypes differ ({a} vs {b}); cast one first");
        Shape s;
        try { s = Shape.Broadcast(Shape.Broadcast(c.Shape, a.Shape), b.Shape); }
        catch (ArgumentException) { throw new ShapeException($"Where: shapes {c.Shape} (cond), {a.Shape} and {b.Shape} cannot be broadcast together"); }
        return [new TensorType(a.DType, s)];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (c, a, b) = (inputs[0], inputs[1], inputs[2]);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, outputTypes[0].DType);
        var cond = c.AsBool();
        switch (o.Storage)
        {
            case float[] d: BroadcastLoops.Where<float>(cond, c.Shape, (float[])a.Storage, a.Shape, (float[])b.Storage, b.Shape, d, o.Shape); break;
            case ushort[] d: BroadcastLoops.Where<ushort>(cond, c.Shape, (ushort[])a.Storage, a.Shape, (ushort[])b.Storage, b.Shape, d, o.Shape); break;
            case long[] d: BroadcastLoops.Where<long>(cond, c.Shape, (long[])a.Storage, a.Shape, (long[])b.Storage, b.Shape, d, o.Shape); break;
            case int[] d: BroadcastLoops.Where<int>(cond, c.Shape, (int[])a.Storage, a.Shape, (int[])b.Storage, b.Shape, d, o.Shape); break;
            case bool[] d: BroadcastLoops.Where<bool>(cond, c.Shape, (bool[])a.Storage, a.Shape, (bool[])b.Storage, b.Shape, d, o.Shape); break;
        }
        return [o];
    }

    /// <summary>da = where(cond, g, 0), db = where(cond, 0, g), each summed to its operand's shape; none for cond.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var (bld, g, cond) = (c.B, c.GradOutput, c.X(0));
        var zero = bld.Scalar(0, g.DType);
        Value? ga = c.IsDiff(1) ? bld.SumTo(bld.Op("Where", cond, g, zero), c.X(1).Shape) : null;
        Value? gb = c.IsDiff(2) ? bld.SumTo(bld.Op("Where", cond, zero, g), c.X(2).Shape) : null;
        return [null, ga, gb];
    }

    /// <summary>No arithmetic: reads the three operands, writes the output.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(0, inputs.Sum(t => t.Bytes), outputs[0].Bytes);
}
