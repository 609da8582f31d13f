using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// GELU as torch.nn.functional.gelu: <c>approximate: "none"</c> (default) is x·Φ(x) = ½x(1 + erf(x/√2));
/// <c>"tanh"</c> is ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Evaluated in double per element, rounded once.
/// </summary>
public sealed class Gelu : OpDef
{
    internal const double SqrtHalf = 0.70710678118654752440;
    internal const double Beta = 0.79788456080286535588; // √(2/π)
    internal const double Kappa = 0.044715;

    /// <inheritdoc/>
    public override string Name => "Gelu";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    protected override double FlopsPerElement => 20;

    internal static bool IsTanh(Attrs attrs) => attrs.GetString("approximate", "none") switch
    {
        "none" => false,
        "tanh" => true,
        var s => throw new ShapeException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{s}\""),
    };

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        IsTanh(attrs);
        if (!inputs[0].DType.IsFloating()) throw new ShapeException($"Gelu: needs a floating tensor, got {inputs[0]}");
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        bool tanh = IsTanh(attrs);
        var o = DenseTensor.Zeros(outputTypes[0].Shape);
        var x = (float[])inputs[0].Storage;
        var d = (float[])o.Storage;
        ParallelChunks.For(d.Length, (s, n) =>
        {
            GeluKernels.Forward(x.AsSpan(s, n), d.AsSpan(s, n), tanh);
        });
        return [o];
    }

    /// <summary>Fused <see cref="GeluGrad"/> with the same <c>approximate</c> attribute (exact derivative of either form).</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Op("GeluGrad", c.Attrs, c.X(0), c.GradOutput)];
}
