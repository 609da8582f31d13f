using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>MseLoss (inputs pred, target of the same type): the 0-d mean of (pred - target)² (F.mse_loss, reduction='mean').</summary>
public sealed class MseLoss : OpDef
{
    /// <inheritdoc/>
    public override string Name => "MseLoss";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Loss;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        RowKernels.CheckFloat(Name, inputs[0], "pred");
        if (inputs[0] != inputs[1]) throw new ShapeException($"MseLoss: pred {inputs[0]} and target {inputs[1]} must have the same type");
        return [new TensorType(inputs[0].DType, Shape.Scalar)];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var p = inputs[0].AsFloat(); var t = inputs[1].AsFloat();
        double sum = 0;
        for (int i = 0; i < p.Length; i++) { double d = p[i] - t[i]; sum += d * d; }
        return [DenseTensor.Scalar(p.Length == 0 ? float.NaN : (float)(sum / p.Length))];
    }

    /// <summary>Fused MseLossGrad gives 2(p - t)·g/N and its negation.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var r = c.B.Emit("MseLossGrad", null, c.X(0), c.X(1), c.GradOutput);
        return [r[0], r[1]];
    }

    /// <summary>Subtract, square, add ≈ 3 FLOPs per element.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(3 * inputs[0].Numel, inputs[0].Bytes + inputs[1].Bytes, outputs[0].Bytes);
}
