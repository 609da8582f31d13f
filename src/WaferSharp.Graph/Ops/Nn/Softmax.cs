namespace WaferSharp.Graph.Ops;

/// <summary>Softmax {axis} (default -1), computed stably as exp(x - max) / Σ exp(x - max).</summary>
public sealed class Softmax : RowOp
{
    /// <inheritdoc/>
    public override string Name => "Softmax";
    /// <inheritdoc/>
    protected override int Inputs => 1;
    private protected override RowKernel Row => RowKernels.Softmax;
    /// <summary>Fused SoftmaxGrad(y, g) = y·(g - Σ g·y).</summary>
    protected override string GradOp => "SoftmaxGrad";
    /// <summary>max, subtract, exp, sum, divide ≈ 5 FLOPs per element.</summary>
    protected override double FlopsPerElement => 5;
}
