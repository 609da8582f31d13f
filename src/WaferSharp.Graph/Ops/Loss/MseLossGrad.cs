using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Backward of <see cref="MseLoss"/>, inputs (pred, target, g 0-d), outputs (d pred, d target) = (2(p - t)·g/N, -2(p - t)·g/N).</summary>
public sealed class MseLossGrad : OpDef
{
    /// <inheritdoc/>
    public override string Name => "MseLossGrad";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Loss;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (3, 3);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        RowKernels.CheckFloat(Name, inputs[0], "pred");
        if (inputs[0] != inputs[1]) throw new ShapeException($"MseLossGrad: pred {inputs[0]} and target {inputs[1]} must have the same type");
        if (inputs[2].Numel != 1) throw new ShapeException($"MseLossGrad: upstream gradient must be a scalar, got {inputs[2]}");
        return [inputs[0], inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var p = inputs[0].AsFloat(); var t = inputs[1].AsFloat();
        var dp = DenseTensor.Zeros(inputs[0].Shape); var dt = DenseTensor.Zeros(inputs[0].Shape);
        var a = dp.AsFloat(); var b = dt.AsFloat();
        float s = p.Length == 0 ? 0 : 2f * inputs[2].AsFloat()[0] / p.Length;
        for (int i = 0; i < p.Length; i++) { float v = (p[i] - t[i]) * s; a[i] = v; b[i] = -v; }
        return [dp, dt];
    }

    /// <summary>Subtract and scale, plus the negation ≈ 3 FLOPs per element.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(3 * inputs[0].Numel, inputs[0].Bytes + inputs[1].Bytes + inputs[2].Bytes, outputs.Sum(o => o.Bytes));
}
