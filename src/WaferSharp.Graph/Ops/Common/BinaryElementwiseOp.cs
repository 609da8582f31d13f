using WaferSharp.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Base of broadcasting binary arithmetic ops. The float kernel is the struct <typeparamref name="TKernel"/>;
/// integer dtypes use <see cref="ApplyLong"/>. Both inputs must have the same dtype (PyTorch would promote;
/// the front-end inserts casts, the IR stays explicit).
/// </summary>
public abstract class BinaryElementwiseOp<TKernel> : OpDef where TKernel : struct, IBinaryFloatOp
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 2);

    /// <summary>Integer semantics; ops that do not support integers leave it throwing.</summary>
    protected virtual long ApplyLong(long a, long b) => throw new NotSupportedException($"{Name} does not support integer tensors");
    /// <summary>Whether integer dtypes are allowed.</summary>
    protected virtual bool SupportsIntegers => false;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (a, b) = (inputs[0], inputs[1]);
        if (a.DType != b.DType) throw new ShapeException($"{Name}: operand dtypes differ ({a} vs {b}); cast one first");
        if (a.DType == DType.Bool || (!a.DType.IsFloating() && !SupportsIntegers))
            throw new ShapeException($"{Name}: dtype {a.DType.ShortName()} is not supported");
        Shape s;
        try { s = Shape.Broadcast(a.Shape, b.Shape); }
        catch (ArgumentException e) { throw new ShapeException($"{Name}: {e.Message}"); }
        return [new TensorType(a.DType, s)];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (a, b) = (inputs[0], inputs[1]);
        var o = DenseTensor.Zeros(outputTypes[0].Shape, outputTypes[0].DType);
        if (o.DType == DType.Float32)
            Broadcast.Binary<TKernel>(a.AsFloat(), a.Shape, b.AsFloat(), b.Shape, o.AsFloat(), o.Shape);
        else IntegerKernel(a, b, o);
        return [o];
    }

    private void IntegerKernel(DenseTensor a, DenseTensor b, DenseTensor o)
    {
        // Typed loops: int64 values beyond 2^53 (e.g. ONNX's INT64_MAX slice ends) must not go through double.
        int r = o.Rank;
        var sa = Broadcast.PaddedStrides(a.Shape, r);
        var sb = Broadcast.PaddedStrides(b.Shape, r);
        var idx = new int[r];
        bool same = a.Length == o.Length && b.Length == o.Length;
        if (o.DType == DType.Int64)
        {
            ReadOnlySpan<long> x = a.AsInt64(), y = b.AsInt64();
            var d = o.AsInt64();
            for (int i = 0; i < d.Length; i++)
            {
                if (same) { d[i] = ApplyLong(x[i], y[i]); continue; }
                long ia = 0, ib = 0;
                for (int k = 0; k < r; k++) { ia += idx[k] * sa[k]; ib += idx[k] * sb[k]; }
                d[i] = ApplyLong(x[(int)ia], y[(int)ib]);
                for (int k = r - 1; k >= 0; k--) { if (++idx[k] < o.Shape[k]) break; idx[k] = 0; }
            }
        }
        else
        {
            ReadOnlySpan<int> x = a.AsInt32(), y = b.AsInt32();
            var d = o.AsInt32();
            for (int i = 0; i < d.Length; i++)
            {
                if (same) { d[i] = unchecked((int)ApplyLong(x[i], y[i])); continue; }
                long ia = 0, ib = 0;
                for (int k = 0; k < r; k++) { ia += idx[k] * sa[k]; ib += idx[k] * sb[k]; }
                d[i] = unchecked((int)ApplyLong(x[(int)ia], y[(int)ib]));
                for (int k = r - 1; k >= 0; k--) { if (++idx[k] < o.Shape[k]) break; idx[k] = 0; }
            }
        }
    }
}

/// <summary>
/// Base of unary float ops (same shape and dtype in and out). The kernel is the struct <typeparamref name="TKernel"/>.
/// </summary>
public abstract class UnaryElementwiseOp<TKernel> : OpDef where TKernel : struct, IUnaryFloatOp
{
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        if (!inputs[0].DType.IsFloating()) throw new ShapeException($"{Name}: needs a floating tensor, got {inputs[0]}");
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var o = DenseTensor.Zeros(outputTypes[0].Shape);
        var x = (float[])inputs[0].Storage;
        var d = (float[])o.Storage;
        // big tensors: contiguous chunks in parallel (results do not depend on the split)
        ParallelChunks.For(d.Length, (s, n) => TKernel.Span(x.AsSpan(s, n), d.AsSpan(s, n)));
        return [o];
    }
}
