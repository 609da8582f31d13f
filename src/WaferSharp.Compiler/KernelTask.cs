using WaferSharp.Compiler.Kernels;
using WaferSharp.Graph;

namespace WaferSharp.Compiler;

/// <summary>Which part of a training step a kernel belongs to.</summary>
public enum Phase
{
    /// <summary>The forward pass and the loss.</summary>
    Forward,
    /// <summary>Gradients.</summary>
    Backward,
    /// <summary>The optimizer update.</summary>
    Optimizer,
}

/// <summary>One kernel instance of a lowered graph: a node, a fused elementwise group, or a matched attention block.</summary>
public sealed class KernelTask
{
    /// <summary>Index in <see cref="LoweredGraph.Tasks"/> (a topological order).</summary>
    public int Id { get; set; }
    /// <summary>Readable name: scope and op (e.g. "h.3.mlp.c_fc (Linear)/Linear#812").</summary>
    public required string Name { get; init; }
    /// <summary>Op name(s): "Linear", "Mul+Gelu" for a fused chain, "Attention".</summary>
    public required string Op { get; init; }
    /// <summary>The mesh kernel.</summary>
    public required MeshKernel Kernel { get; init; }
    /// <summary>The work at the full batch.</summary>
    public KernelWork Work { get; set; }
    /// <summary>Forward, backward or optimizer.</summary>
    public Phase Phase { get; set; }
    /// <summary>Graph nodes it covers.</summary>
    public required IReadOnlyList<Node> Nodes { get; init; }
    /// <summary>Values read from outside the task (views resolved to their source).</summary>
    public List<Value> Inputs { get; } = new();
    /// <summary>Parameters read (resident weights).</summary>
    public List<Value> Params { get; } = new();
    /// <summary>Persistent state read (optimizer moments).</summary>
    public List<Value> States { get; } = new();
    /// <summary>FLOPs of the covered nodes (from the ops' cost rules).</summary>
    public double Flops { get; init; }
}

/// <summary>A producer→consumer dependency between two kernel tasks, carrying one value.</summary>
/// <param name="From">Producer task id.</param>
/// <param name="To">Consumer task id.</param>
/// <param name="Value">The value (views resolved).</param>
/// <param name="Bytes">Bytes at the compute precision (full batch).</param>
public readonly record struct TaskEdge(int From, int To, Value Value, long Bytes);
