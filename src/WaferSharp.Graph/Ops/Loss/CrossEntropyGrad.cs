using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Backward of <see cref="CrossEntropy"/> {ignore_index}, inputs (logits [..., C], target [...], g 0-d):
/// (softmax(row) - onehot(target))·g / count for kept rows, 0 for ignored rows (and everywhere when all are ignored).
/// </summary>
public sealed class CrossEntropyGrad : OpDef
{
    /// <inheritdoc/>
    public override string Name => "CrossEntropyGrad";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Loss;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (3, 3);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        CrossEntropy.Check(Name, inputs[0], inputs[1]);
        if (inputs[2].Numel != 1 || inputs[2].DType != inputs[0].DType)
            throw new ShapeException($"CrossEntropyGrad: upstream gradient must be a {inputs[0].DType.ShortName()} scalar, got {inputs[2]}");
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        int c = x.Shape[-1];
        long ignore = attrs.GetLong("ignore_index", -100);
        var t = CrossEntropy.Targets(Name, inputs[1], c, ignore);
        long count = 0;
        foreach (var v in t) if (v != ignore) count++;
        var o = DenseTensor.Zeros(x.Shape);
        if (count == 0) return [o];
        float scale = inputs[2].AsFloat()[0] / count;
        float[] xs = (float[])x.Storage, ys = (float[])o.Storage;
        void Row(int r)
        {
            if (t[r] == ignore) return;
            var y = ys.AsSpan(r * c, c);
            RowKernels.Softmax(xs.AsSpan(r * c, c), default, y);
            y[(int)t[r]] -= 1f;
            System.Numerics.Tensors.TensorPrimitives.Multiply(y, scale, y);
        }
        if (xs.Length >= RowKernels.ParallelThreshold && t.Length > 1) Parallel.For(0, t.Length, Row);
        else for (int r = 0; r < t.Length; r++) Row(r);
        return [o];
    }

    /// <summary>Softmax (≈5) plus subtract and scale ≈ 6 FLOPs per logit.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(6 * inputs[0].Numel, inputs.Sum(t => t.Bytes), outputs[0].Bytes);
}
