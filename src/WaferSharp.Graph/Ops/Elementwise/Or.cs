namespace WaferSharp.Graph.Ops;

/// <summary>Logical or of bool tensors with broadcasting.</summary>
public sealed class Or : LogicalBinaryOp<Or.Fn>
{
    /// <inheritdoc/>
    public override string Name => "Or";

    /// <summary>The scalar definition.</summary>
    public struct Fn : IBinaryFn<bool, bool, bool>
    {
        /// <inheritdoc/>
        public static bool Apply(bool a, bool b) => a || b;
    }
}
