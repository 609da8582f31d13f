using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Rope {base = 10000, position_offset = 0, inverse = false}: rotary position embedding on x [..., T, D]
/// (usually [B, H, T, D]) with the HF/Llama rotate-half convention: y = x·cos + rotate_half(x)·sin, where
/// rotate_half(x) = [-x₂, x₁], angle(t, i) = (t + position_offset)·base^(-2i/D) for i &lt; D/2 (repeated for the
/// second half). Tables are computed in float32 as HF does. <c>inverse</c> rotates by the negative angle,
/// which is also the gradient.
/// </summary>
public sealed class Rope : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Rope";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var x = inputs[0];
        RowKernels.CheckFloat(Name, x);
        if (x.Rank < 2 || x.Shape[-1] % 2 != 0) throw new ShapeException($"Rope: needs x [..., T, D] with even D, got {x}");
        return [x];
    }

    /// <summary>cos and sin tables [T, D/2] in float32, matching HF's rotary embedding arithmetic.</summary>
    public static (float[] Cos, float[] Sin) Tables(int t, int d, double @base, long positionOffset)
    {
        int h = d / 2;
        var inv = new float[h];
        float b = (float)@base;
        for (int i = 0; i < h; i++)
        {
            float e = (float)(2 * i) / d;
            inv[i] = 1f / (float)Math.Pow(b, e);
        }
        var cos = new float[t * h];
        var sin = new float[t * h];
        for (int p = 0; p < t; p++)
        {
            float pos = p + positionOffset;
            for (int i = 0; i < h; i++)
            {
                float f = pos * inv[i];
                cos[p * h + i] = (float)Math.Cos(f);
                sin[p * h + i] = (float)Math.Sin(f);
            }
        }
        return (cos, sin);
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        var x = inputs[0];
        int t = x.Shape[-2], d = x.Shape[-1], h = d / 2;
        var (cos, sin) = Tables(t, d, attrs.GetDouble("base", 10000), attrs.GetLong("position_offset", 0));
        float sign = attrs.GetBool("inverse", false) ? -1f : 1f;
        var o = DenseTensor.Zeros(x.Shape);
        var xs = x.AsFloat(); var ys = o.AsFloat();
        long rows = d == 0 ? 0 : xs.Length / d;
        for (long r = 0; r < rows; r++)
        {
            int p = (int)(r % t);
            int off = (int)(r * d);
            for (int i = 0; i < h; i++)
            {
                float c = cos[p * h + i], s = sign * sin[p * h + i];
                float x1 = xs[off + i], x2 = xs[off + h + i];
                ys[off + i] = x1 * c - x2 * s;
                ys[off + h + i] = x2 * c + x1 * s;
            }
        }
        return [o];
    }

    /// <summary>The rotation is orthogonal, so the gradient is the inverse rotation of the upstream gradient.</summary>
    public override Value?[] Gradient(GradContext c) =>
        [c.B.Op("Rope", c.Attrs.With("inverse", !c.Attrs.GetBool("inverse", false)), c.GradOutput)];

    /// <summary>Two multiplies and an add per element (tables amortized).</summary>
    protected override double FlopsPerElement => 3;
}
