using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// CausalMask {fill = -inf, offset = 0} on the last two dims [..., Tq, Tk]: element (q, k) becomes <c>fill</c>
/// where k &gt; q + offset, else it is copied. offset = Tk - Tq aligns the mask bottom-right (decoding with a KV cache).
/// </summary>
public sealed class CausalMask : OpDef
{
    /// <inheritdoc/>
    public override string Name => "CausalMask";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        RowKernels.CheckFloat(Name, inputs[0]);
        if (inputs[0].Rank < 2) throw new ShapeException($"CausalMask: needs [..., Tq, Tk], got {inputs[0]}");
        return [inputs[0]];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) =>
        ExecuteDonated(inputs, [false], attrs, outputTypes);

    /// <summary>Masks in place when the scores are donated (they usually are: nothing else reads them).</summary>
    public override DenseTensor[] ExecuteDonated(IReadOnlyList<DenseTensor> inputs, bool[] donated, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        float fill = attrs.GetFloat("fill", float.NegativeInfinity);
        long offset = attrs.GetLong("offset", 0);
        var o = donated[0] ? x : x.Clone();
        int tq = x.Shape[-2], tk = x.Shape[-1];
        var ys = o.AsFloat();
        long mats = tq * (long)tk == 0 ? 0 : ys.Length / (tq * (long)tk);
        for (long m = 0; m < mats; m++)
            for (int q = 0; q < tq; q++)
            {
                long first = Math.Max(0, q + offset + 1);
                if (first >= tk) continue;
                ys.Slice((int)((m * tq + q) * tk + first), (int)(tk - first)).Fill(fill);
            }
        return [o];
    }

    /// <summary>The gradient is masked the same way with fill 0 (the masked positions are constants).</summary>
    public override Value?[] Gradient(GradContext c) =>
        [c.B.Op("CausalMask", Attrs.Of(("fill", 0.0), ("offset", c.Attrs.GetLong("offset", 0))), c.GradOutput)];
}
