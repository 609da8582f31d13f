namespace WaferSharp.Graph.Ops;

/// <summary>LogSoftmax {axis} (default -1), computed stably as x - max - log Σ exp(x - max).</summary>
public sealed class LogSoftmax : RowOp
{
    /// <inheritdoc/>
    public override string Name => "LogSoftmax";
    /// <inheritdoc/>
    protected override int Inputs => 1;
    private protected override RowKernel Row => RowKernels.LogSoftmax;
    /// <summary>Fused LogSoftmaxGrad(y, g) = g - exp(y)·Σ g.</summary>
    protected override string GradOp => "LogSoftmaxGrad";
    /// <summary>max, subtract, exp, sum, log/subtract ≈ 5 FLOPs per element.</summary>
    protected override double FlopsPerElement => 5;
}
