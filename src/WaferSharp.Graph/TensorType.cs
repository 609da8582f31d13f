using WaferSharp.Tensors;

namespace WaferSharp.Graph;

/// <summary>The static type of a graph value: element type and shape.</summary>
public sealed record TensorType(DType DType, Shape Shape)
{
    /// <summary>A float32 type of the given dims.</summary>
    public static TensorType F32(params int[] dims) => new(DType.Float32, new Shape(dims));
    /// <summary>Element count.</summary>
    public long Numel => Shape.Numel;
    /// <summary>Bytes of one tensor of this type.</summary>
    public long Bytes => Shape.Numel * DType.Size();
    /// <summary>Rank.</summary>
    public int Rank => Shape.Rank;
    /// <summary>Same dtype, another shape.</summary>
    public TensorType WithShape(Shape s) => new(DType, s);
    /// <summary>Same shape, another dtype.</summary>
    public TensorType WithDType(DType d) => new(d, Shape);
    /// <summary>Prints as <c>f32[2,3]</c>.</summary>
    public override string ToString() => DType.ShortName() + Shape;
}
