using WaferSharp.Tensors;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// torch.nn.functional.linear: y = x·Wᵀ + b with x [..., in], W [out, in], optional b [out] (inputs x, W[, b]).
/// The same as ONNX Gemm with transB=1 over the flattened leading dims.
/// </summary>
public sealed class Linear : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Linear";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Contraction;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (2, 3);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var (x, w) = (inputs[0], inputs[1]);
        if (!x.DType.IsFloating() || x.DType != w.DType) throw new ShapeException($"Linear: x and weight must share a floating dtype ({x} vs {w})");
        if (x.Rank < 1 || w.Rank != 2) throw new ShapeException($"Linear: expects x [..., in] and weight [out, in], got {x.Shape} and {w.Shape}");
        if (x.Shape[-1] != w.Shape[1]) throw new ShapeException($"Linear: input has shape {x.Shape} but weight {w.Shape} expects last dim {w.Shape[1]}");
        if (inputs.Count == 3 && (inputs[2].Rank != 1 || inputs[2].Shape[0] != w.Shape[0] || inputs[2].DType != x.DType))
            throw new ShapeException($"Linear: bias must be {x.DType.ShortName()}[{w.Shape[0]}], got {inputs[2]}");
        return [x.WithShape(x.Shape.With(-1, w.Shape[0]))];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var (x, w) = (inputs[0], inputs[1]);
        int inF = w.Shape[1], outF = w.Shape[0];
        int rows = inF == 0 ? (int)x.Shape.Prod(0, x.Rank - 1) : x.Length / inF;
        var y = inF == 0 ? DenseTensor.Zeros(outputTypes[0].Shape) : DenseTensor.Uninitialized(outputTypes[0].Shape);
        // the bias is added inside the GEMM's last k pass (same values as a separate pass, one less sweep over y)
        if (inputs.Count == 3)
            Sgemm.MultiplyBias(false, true, rows, outF, inF, 1f, x.AsFloat(), inF, w.AsFloat(), inF, 0f, y.AsFloat(), outF, inputs[2].AsFloat());
        else
            Sgemm.Multiply(false, true, rows, outF, inF, 1f, x.AsFloat(), inF, w.AsFloat(), inF, 0f, y.AsFloat(), outF);
        return [y];
    }

    /// <summary>dx = g·W; dW = gᵀ·x over flattened rows; db = Σ_rows g.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var b = c.B;
        Value x = c.X(0), w = c.X(1), g = c.GradOutput;
        int inF = w.Shape[1], outF = w.Shape[0];
        var dx = b.MatMul(g, w);
        var g2 = b.Reshape(g, -1, outF);
        var x2 = b.Reshape(x, -1, inF);
        var dw = b.Op("MatMul", Attrs.Of(("trans_a", true)), g2, x2);
        if (c.Inputs.Length == 2) return [dx, dw];
        var db = b.ReduceSum(g2, [0], keepDims: false);
        return [dx, dw, db];
    }

    /// <inheritdoc/>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs)
    {
        long rows = outputs[0].Numel / inputs[1].Shape[0];
        long flops = 2L * rows * inputs[1].Shape[0] * inputs[1].Shape[1] + (inputs.Count == 3 ? outputs[0].Numel : 0);
        return new OpCost(flops, inputs.Sum(t => t.Bytes), outputs[0].Bytes);
    }
}
