namespace WaferSharp.Graph.Ops;

/// <summary>Logical and of bool tensors with broadcasting.</summary>
public sealed class And : LogicalBinaryOp<And.Fn>
{
    /// <inheritdoc/>
    public override string Name => "And";

    /// <summary>The scalar definition.</summary>
    public struct Fn : IBinaryFn<bool, bool, bool>
    {
        /// <inheritdoc/>
        public static bool Apply(bool a, bool b) => a && b;
    }
}
