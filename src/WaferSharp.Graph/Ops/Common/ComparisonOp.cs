using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>A comparison on each raw element type, as a static-abstract struct.</summary>
public interface IComparison
{
    /// <summary>Float comparison (IEEE: NaN compares false except for "not equal").</summary>
    static abstract bool Float(float a, float b);
    /// <summary>Integer comparison (bools compare as 0/1).</summary>
    static abstract bool Long(long a, long b);
}

/// <summary>
/// Base of broadcasting comparisons: bool output, no gradient. Operands share a dtype (float, int32, int64 or
/// bool); 16-bit floats are compared after exact widening to float32.
/// </summary>
public abstract class ComparisonOp<TCmp> : OpDef where TCmp : struct, IComparison
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (a, b) = (inputs[0], inputs[1]);
        if (a.DType != b.DType) throw new ShapeException($"{Name}: operand dtypes differ ({a} vs {b}); cast one first");
        return [new TensorType(DType.Bool, BroadcastLoops.BroadcastShapes(Name, a.Shape, b.Shape))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (a, b) = (inputs[0], inputs[1]);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, DType.Bool);
        var d = o.AsBool();
        switch (a.Storage)
        {
            case float[] x: BroadcastLoops.Binary<float, float, bool, F>(x, a.Shape, (float[])b.Storage, b.Shape, d, o.Shape); break;
            case long[] x: BroadcastLoops.Binary<long, long, bool, L>(x, a.Shape, (long[])b.Storage, b.Shape, d, o.Shape); break;
            case int[] x: BroadcastLoops.Binary<int, int, bool, I>(x, a.Shape, (int[])b.Storage, b.Shape, d, o.Shape); break;
            case bool[] x: BroadcastLoops.Binary<bool, bool, bool, B>(x, a.Shape, (bool[])b.Storage, b.Shape, d, o.Shape); break;
            default: throw new NotSupportedException($"{Name}: dtype {a.DType.ShortName()}");
        }
        return [o];
    }

    /// <summary>Comparisons are not differentiable.</summary>
    public override Value?[] Gradient(GradContext c) => [null, null];

    private struct F : IBinaryFn<float, float, bool> { public static bool Apply(float a, float b) => TCmp.Float(a, b); }
    private struct L : IBinaryFn<long, long, bool> { public static bool Apply(long a, long b) => TCmp.Long(a, b); }
    private struct I : IBinaryFn<int, int, bool> { public static bool Apply(int a, int b) => TCmp.Long(a, b); }
    private struct B : IBinaryFn<bool, bool, bool> { public static bool Apply(bool a, bool b) => TCmp.Long(a ? 1 : 0, b ? 1 : 0); }
}
