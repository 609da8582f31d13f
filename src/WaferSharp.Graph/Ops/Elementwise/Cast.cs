using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Converts dtype, attribute <c>to</c> ("f32", "bf16", "f16", "i64", "i32", "bool"). As PyTorch: float→int
/// truncates toward zero, float→bool is x != 0, float→16-bit rounds to nearest even.
/// </summary>
public sealed class Cast : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Cast";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        DType to;
        try { to = attrs.GetDType("to"); }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException) { throw new ShapeException($"Cast: {e.Message}"); }
        return [inputs[0].WithDType(to)];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) =>
        [inputs[0].To(outputTypes[0].DType)];

    /// <summary>The gradient cast back to the input dtype; none when either side is not floating (integers cut the graph, as in PyTorch).</summary>
    public override Value?[] Gradient(GradContext c) =>
        [c.IsDiff(0) && c.Outputs[0].DType.IsFloating() ? c.B.Cast(c.GradOutput, c.X(0).DType) : null];

    /// <summary>No arithmetic.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(0, inputs[0].Bytes, outputs[0].Bytes);
}
