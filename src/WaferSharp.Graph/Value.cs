using WaferSharp.Tensors;

namespace WaferSharp.Graph;

/// <summary>Where a graph value comes from.</summary>
public enum ValueKind
{
    /// <summary>Fed per step (a batch, a label, a host scalar such as the learning rate).</summary>
    Input,
    /// <summary>A trainable parameter (persistent, updated by the optimizer).</summary>
    Parameter,
    /// <summary>Persistent non-trainable state (optimizer moments, buffers).</summary>
    State,
    /// <summary>A compile-time constant with data.</summary>
    Constant,
    /// <summary>Produced by a node.</summary>
    Node,
}

/// <summary>An SSA value in a <see cref="Graph"/>: a typed edge of the dataflow graph.</summary>
public sealed class Value
{
    internal Value(int id, TensorType type, ValueKind kind, string? name, Node? producer, int outputIndex, DenseTensor? data)
    {
        Id = id; Type = type; Kind = kind; Name = name; Producer = producer; OutputIndex = outputIndex; Data = data;
    }

    /// <summary>Unique id within its graph (creation order).</summary>
    public int Id { get; }
    /// <summary>dtype and shape.</summary>
    public TensorType Type { get; }
    /// <summary>Kind of value.</summary>
    public ValueKind Kind { get; }
    /// <summary>Name of an input, parameter or state (e.g. "layers.0.weight"); null for node outputs.</summary>
    public string? Name { get; }
    /// <summary>The node that produces this value (null unless <see cref="Kind"/> is Node).</summary>
    public Node? Producer { get; }
    /// <summary>Which output of <see cref="Producer"/> this is.</summary>
    public int OutputIndex { get; }
    /// <summary>Constant data (Constant kind only).</summary>
    public DenseTensor? Data { get; }
    /// <summary>Shape shortcut.</summary>
    public Shape Shape => Type.Shape;
    /// <summary>dtype shortcut.</summary>
    public DType DType => Type.DType;
    /// <summary>Rank shortcut.</summary>
    public int Rank => Type.Shape.Rank;

    /// <inheritdoc/>
    public override string ToString() => $"%{Id}:{Type}" + (Name is null ? "" : $" \"{Name}\"");
}
