using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Base of broadcasting logical ops on bool tensors (<see cref="And"/>, <see cref="Or"/>).</summary>
public abstract class LogicalBinaryOp<TFn> : OpDef where TFn : struct, IBinaryFn<bool, bool, bool>
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);
    /// <inheritdoc/>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (a, b) = (inputs[0], inputs[1]);
        if (a.DType != DType.Bool || b.DType != DType.Bool) throw new ShapeException($"{Name}: needs bool operands, got {a} and {b}");
        return [new TensorType(DType.Bool, BroadcastLoops.BroadcastShapes(Name, a.Shape, b.Shape))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (a, b) = (inputs[0], inputs[1]);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, DType.Bool);
        BroadcastLoops.Binary<bool, bool, bool, TFn>(a.AsBool(), a.Shape, b.AsBool(), b.Shape, o.AsBool(), o.Shape);
        return [o];
    }

    /// <summary>Not differentiable.</summary>
    public override Value?[] Gradient(GradContext c) => [null, null];
}
