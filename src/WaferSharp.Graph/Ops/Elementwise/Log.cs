using System.Numerics.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>Natural logarithm.</summary>
public sealed class Log : UnaryElementwiseOp<Log.Kernel>
{
    /// <inheritdoc/>
    public override string Name => "Log";
    /// <inheritdoc/>
    protected override double FlopsPerElement => 8;

    /// <summary>g / x.</summary>
    public override Value?[] Gradient(GradContext c) => [c.B.Div(c.GradOutput, c.X(0))];

    /// <summary>Vectorized kernel.</summary>
    public struct Kernel : IUnaryFloatOp
    {
        /// <inheritdoc/>
        public static float Apply(float x) => MathF.Log(x);
        /// <inheritdoc/>
        public static void Span(ReadOnlySpan<float> x, Span<float> d) => TensorPrimitives.Log(x, d);
    }
}
