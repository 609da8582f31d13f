namespace WaferSharp.Graph.Ops;

/// <summary>a != b elementwise with broadcasting; bool output.</summary>
public sealed class NotEqual : ComparisonOp<NotEqual.Cmp>
{
    /// <inheritdoc/>
    public override string Name => "NotEqual";

    /// <summary>The comparison.</summary>
    public struct Cmp : IComparison
    {
        /// <inheritdoc/>
        public static bool Float(float a, float b) => a != b;
        /// <inheritdoc/>
        public static bool Long(long a, long b) => a != b;
    }
}
