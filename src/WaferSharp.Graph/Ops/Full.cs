using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>A tensor of a given shape and dtype filled with one value (ONNX ConstantOfShape). Keeps big fills out of constant storage.</summary>
public sealed class Full : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Full";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (0, 0);
    /// <inheritdoc/>
    public override bool ComputesInFloat32 => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        return [new TensorType(attrs.GetDType("dtype", DType.Float32), new Shape(attrs.GetInts("shape")))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var t = outputTypes[0];
        var o = DenseTensor.Zeros(t.Shape, t.DType);
        double v = attrs.GetDouble("value");
        if (v != 0)
        {
            if (o.DType == DType.Float32) o.AsFloat().Fill((float)v);
            else { o.SetDouble(0, v); var one = o.GetDouble(0); for (int i = 0; i < o.Length; i++) o.SetDouble(i, one); }
        }
        return [o];
    }

    /// <summary>No inputs, so no gradients.</summary>
    public override Value?[] Gradient(GradContext c) => [];

    /// <inheritdoc/>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) => new(0, 0, outputs[0].Bytes);
}
