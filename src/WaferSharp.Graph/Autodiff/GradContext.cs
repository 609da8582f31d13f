namespace WaferSharp.Graph;

/// <summary>What a gradient rule sees: the forward node, the upstream gradients, and a builder to emit ops with.</summary>
public sealed class GradContext
{
    internal GradContext(GraphBuilder builder, Node node, Value?[] gradOutputs)
    {
        B = builder; Node = node; GradOutputs = gradOutputs;
    }

    /// <summary>Builder that appends the backward ops to the graph.</summary>
    public GraphBuilder B { get; }
    /// <summary>The forward node being differentiated.</summary>
    public Node Node { get; }
    /// <summary>Forward inputs.</summary>
    public Value[] Inputs => Node.Inputs;
    /// <summary>Forward outputs.</summary>
    public Value[] Outputs => Node.Outputs;
    /// <summary>Forward attributes.</summary>
    public Attrs Attrs => Node.Attrs;
    /// <summary>Upstream gradient of each output (null where no gradient flows).</summary>
    public Value?[] GradOutputs { get; }
    /// <summary>Upstream gradient of the single output (never null for single-output ops: zeros are substituted).</summary>
    public Value GradOutput => GradOutputs[0] ?? B.ZerosLike(Outputs[0]);

    /// <summary>Input <paramref name="i"/>.</summary>
    public Value X(int i) => Node.Inputs[i];
    /// <summary>True when input <paramref name="i"/> is floating (so it can receive a gradient).</summary>
    public bool IsDiff(int i) => Node.Inputs[i].DType.IsFloatingType();
}

internal static class DTypeExt
{
    public static bool IsFloatingType(this WaferSharp.Tensors.DType t) => WaferSharp.Tensors.DTypeInfo.IsFloating(t);
}
