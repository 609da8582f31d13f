namespace WaferSharp.Onnx;

/// <summary>
/// The model uses ONNX operators WaferSharp does not implement. The message lists each operator type once,
/// with its node count and node names; the CLI maps it to exit code 2.
/// </summary>
public sealed class OnnxUnsupportedOperatorException : NotSupportedException
{
    /// <summary>Creates the report.</summary>
    public OnnxUnsupportedOperatorException(string source, IReadOnlyDictionary<string, List<string>> nodesByOp)
        : base(Format(source, nodesByOp)) => Operators = nodesByOp;

    /// <summary>Unsupported operator type → node names.</summary>
    public IReadOnlyDictionary<string, List<string>> Operators { get; }

    private static string Format(string source, IReadOnlyDictionary<string, List<string>> ops)
    {
        const int MaxNames = 5;
        var parts = ops.Select(kv =>
        {
            var names = kv.Value.Take(MaxNames).Select(n => $"'{n}'");
            string more = kv.Value.Count > MaxNames ? $", … {kv.Value.Count - MaxNames} more" : "";
            return $"{kv.Key} ×{kv.Value.Count} ({string.Join(", ", names)}{more})";
        });
        return $"{source} uses {ops.Count} unsupported ONNX operator type{(ops.Count == 1 ? "" : "s")}: {string.Join("; ", parts)}. See `wafer ops` for the supported operators";
    }
}
