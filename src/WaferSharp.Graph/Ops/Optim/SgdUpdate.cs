using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// The fused SGD update: inputs (p, g, buf, neg_lr, buf_keep, grad_keep), outputs (p', buf'). Attributes:
/// momentum, weight_decay, nesterov. PyTorch order: d = g + λp; buf' = buf·keep + d·gkeep; d = d + μ·buf'
/// (Nesterov) or buf'; p' = p + d·(-lr). Without momentum pass a dummy buf (it is returned unchanged).
/// </summary>
public sealed class SgdUpdate : OpDef
{
    /// <inheritdoc/>
    public override string Name => "SgdUpdate";
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (6, 6);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var p = inputs[0];
        if (p.DType != DType.Float32) throw new ShapeException($"SgdUpdate: parameters must be f32, got {p}");
        if (inputs[1] != p || inputs[2] != p) throw new ShapeException($"SgdUpdate: gradient and buffer must be {p}");
        return [p, p];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var pa = (float[])inputs[0].Storage; var ga = (float[])inputs[1].Storage; var ba = (float[])inputs[2].Storage;
        float negLr = inputs[3].AsFloat()[0], keep = inputs[4].AsFloat()[0], gkeep = inputs[5].AsFloat()[0];
        float mu = attrs.GetFloat("momentum", 0), wd = attrs.GetFloat("weight_decay", 0);
        bool nesterov = attrs.GetBool("nesterov", false);
        var np = DenseTensor.Zeros(outputTypes[0].Shape); var nb = DenseTensor.Zeros(outputTypes[1].Shape);
        var po = (float[])np.Storage; var bo = (float[])nb.Storage;
        for (int i = 0; i < pa.Length; i++)
        {
            float d = ga[i];
            if (wd != 0) d = d + pa[i] * wd;
            if (mu != 0)
            {
                float b = ba[i] * keep + d * gkeep;
                bo[i] = b;
                d = nesterov ? d + b * mu : b;
            }
            po[i] = pa[i] + d * negLr;
        }
        return [np, nb];
    }

    /// <inheritdoc/>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs)
    {
        long n = inputs[0].Numel, bytes = inputs[0].Bytes;
        return new OpCost(6 * n, 3 * bytes, 2 * bytes);
    }
}
