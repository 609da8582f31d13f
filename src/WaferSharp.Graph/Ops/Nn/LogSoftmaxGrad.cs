using System.Numerics.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Backward of <see cref="LogSoftmax"/> {axis} with inputs (y, g): dx = g - exp(y)·Σ_axis g.</summary>
public sealed class LogSoftmaxGrad : RowOp
{
    /// <inheritdoc/>
    public override string Name => "LogSoftmaxGrad";
    /// <inheritdoc/>
    protected override int Inputs => 2;
    private protected override RowKernel Row => static (y, g, dx) =>
    {
        float sum = TensorPrimitives.Sum(g);
        TensorPrimitives.Exp(y, dx);
        TensorPrimitives.MultiplyAdd(dx, -sum, g, dx);
    };
    /// <summary>sum, exp, multiply-add ≈ 4 FLOPs per element.</summary>
    protected override double FlopsPerElement => 4;
}
