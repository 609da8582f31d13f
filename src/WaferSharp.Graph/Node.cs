namespace WaferSharp.Graph;

/// <summary>One operation in a <see cref="Graph"/>: an op, its inputs, attributes and outputs.</summary>
public sealed class Node
{
    internal Node(int id, OpDef op, Value[] inputs, Attrs attrs)
    {
        Id = id; Op = op; Inputs = inputs; Attrs = attrs; Outputs = Array.Empty<Value>();
    }

    /// <summary>Unique id within its graph (creation order, which is a topological order).</summary>
    public int Id { get; }
    /// <summary>The operator.</summary>
    public OpDef Op { get; }
    /// <summary>Operand values.</summary>
    public Value[] Inputs { get; internal set; }
    /// <summary>Result values.</summary>
    public Value[] Outputs { get; internal set; }
    /// <summary>Attributes.</summary>
    public Attrs Attrs { get; }
    /// <summary>Elementwise fusion group set by <see cref="Passes.ElementwiseFusion"/>; -1 when not fused.</summary>
    public int FusionGroup { get; set; } = -1;
    /// <summary>Optional provenance (e.g. the module path that emitted it), for error messages and reports.</summary>
    public string? Scope { get; set; }

    /// <summary>Single output shortcut.</summary>
    public Value Output => Outputs.Length == 1 ? Outputs[0] : throw new InvalidOperationException($"{Op.Name} has {Outputs.Length} outputs");

    /// <inheritdoc/>
    public override string ToString() => $"{Op.Name}#{Id}";
}
