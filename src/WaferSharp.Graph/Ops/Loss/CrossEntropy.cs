using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// CrossEntropy {ignore_index = -100} (inputs logits [..., C], target [...] of i64 or i32): logits and targets
/// are flattened to [N, C] and [N] and the result is the 0-d mean of logsumexp(row) - row[target] over rows
/// whose target is not <c>ignore_index</c> (F.cross_entropy with reduction='mean').
/// When every row is ignored the loss is 0 (PyTorch gives NaN; 0 keeps a fully padded batch from poisoning
/// training, and its gradient is 0 too). A target outside [0, C) that is not ignored is an error.
/// </summary>
public sealed class CrossEntropy : OpDef
{
    /// <inheritdoc/>
    public override string Name => "CrossEntropy";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Loss;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    internal static void Check(string op, TensorType logits, TensorType target)
    {
        RowKernels.CheckFloat(op, logits, "logits");
        IndexKernels.CheckIndexType(op, target);
        if (logits.Rank < 1 || target.Rank != logits.Rank - 1 || !logits.Shape.Dims[..^1].SequenceEqual(target.Shape.Dims))
            throw new ShapeException($"{op}: logits [..., C] and target [...] must agree, got logits {logits.Shape} and target {target.Shape}");
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        Check(Name, inputs[0], inputs[1]);
        return [new TensorType(inputs[0].DType, Shape.Scalar)];
    }

    /// <summary>Targets as longs, checked against the class count (ignored rows excepted).</summary>
    internal static long[] Targets(string op, DenseTensor target, int classes, long ignore)
    {
        var t = LayoutKernels.Indices(target);
        foreach (var v in t)
            if (v != ignore && (v < 0 || v >= classes))
                throw new ArgumentOutOfRangeException(null, $"{op}: target {v} is out of range for {classes} classes (ignore_index {ignore})");
        return t;
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        int c = x.Shape[-1];
        long ignore = attrs.GetLong("ignore_index", -100);
        var t = Targets(Name, inputs[1], c, ignore);
        var xs = (float[])x.Storage;
        // Per-row losses (rows in parallel when big), then one ordered sum: deterministic whatever the threading.
        var loss = new double[t.Length];
        void Row(int r)
        {
            if (t[r] == ignore) return;
            var row = xs.AsSpan(r * c, c);
            loss[r] = (double)RowKernels.LogSumExp(row) - row[(int)t[r]];
        }
        if (xs.Length >= RowKernels.ParallelThreshold && t.Length > 1) Parallel.For(0, t.Length, Row);
        else for (int r = 0; r < t.Length; r++) Row(r);
        double sum = 0;
        long count = 0;
        for (int r = 0; r < t.Length; r++) if (t[r] != ignore) { sum += loss[r]; count++; }
        return [DenseTensor.Scalar(count == 0 ? 0f : (float)(sum / count))];
    }

    /// <summary>Fused CrossEntropyGrad: (softmax(x) - onehot(t))·g / count on kept rows; targets get none.</summary>
    public override Value?[] Gradient(GradContext c) =>
        [c.B.Op("CrossEntropyGrad", Attrs.Of(("ignore_index", c.Attrs.GetLong("ignore_index", -100))), c.X(0), c.X(1), c.GradOutput), null];

    /// <summary>max, subtract, exp, sum per logit ≈ 4 FLOPs per element, plus log and pick per row.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs) =>
        new(4 * inputs[0].Numel + 3 * inputs[1].Numel, inputs[0].Bytes + inputs[1].Bytes, outputs[0].Bytes);
}
