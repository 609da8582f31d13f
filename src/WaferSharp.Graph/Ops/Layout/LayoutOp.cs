using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Base of pure data-movement ops: they move any dtype bit-exactly (no float32 round trip), do no arithmetic,
/// and cost only the bytes they read and write.
/// </summary>
public abstract class LayoutOp : OpDef
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Layout;
    /// <summary>False: the kernels see raw storage so bf16/f16/int/bool move without conversion.</summary>
    public override bool ComputesInFloat32 => false;

    /// <summary>0 FLOPs; inputs read once, outputs written once.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        LayoutKernels.MoveCost(inputs, outputs);

    /// <summary>Formats dims for messages.</summary>
    internal static string Fmt(IEnumerable<int> dims) => "[" + string.Join(",", dims) + "]";
}
