namespace WaferSharp.Graph.Ops;

/// <summary>a &gt; b elementwise with broadcasting; bool output.</summary>
public sealed class Greater : ComparisonOp<Greater.Cmp>
{
    /// <inheritdoc/>
    public override string Name => "Greater";

    /// <summary>The comparison.</summary>
    public struct Cmp : IComparison
    {
        /// <inheritdoc/>
        public static bool Float(float a, float b) => a > b;
        /// <inheritdoc/>
        public static bool Long(long a, long b) => a > b;
    }
}
