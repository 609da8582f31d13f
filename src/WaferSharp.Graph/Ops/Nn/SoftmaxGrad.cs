using System.Numerics.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>Backward of <see cref="Softmax"/> {axis} with inputs (y, g): dx = y·(g - Σ_axis g·y).</summary>
public sealed class SoftmaxGrad : RowOp
{
    /// <inheritdoc/>
    public override string Name => "SoftmaxGrad";
    /// <inheritdoc/>
    protected override int Inputs => 2;
    private protected override RowKernel Row => static (y, g, dx) =>
    {
        float dot = TensorPrimitives.Dot(g, y);
        TensorPrimitives.Subtract(g, dot, dx);
        TensorPrimitives.Multiply(dx, y, dx);
    };
    /// <summary>dot, subtract, multiply ≈ 4 FLOPs per element.</summary>
    protected override double FlopsPerElement => 4;
}
