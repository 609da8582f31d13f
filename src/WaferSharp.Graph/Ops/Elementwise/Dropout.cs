using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// Training-mode dropout: outputs y = x·mask/(1-p) and the bool mask. Attributes <c>p</c> (drop probability)
/// and <c>seed</c> (default 0). The mask is a counter-based hash of (seed, element index) — SplitMix64 — so it is
/// reproducible and independent of threading and of the device; p = 0 is the identity, p = 1 gives zeros.
/// An optional second input, an int64 scalar, is mixed into the seed: traced training steps feed a new one
/// every step ("rng_seed"), so a graph traced once still draws a fresh mask per step.
/// </summary>
public sealed class Dropout : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Dropout";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Elementwise;
    /// <inheritdoc/>
    protected override double FlopsPerElement => 0.5; // two outputs; ~1 op per element in total
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (1, 2);
    /// <inheritdoc/>
    public override bool ComputesInFloat32 => true;

    private static double P(Attrs attrs)
    {
        double p = attrs.GetDouble("p");
        if (!(p >= 0 && p <= 1)) throw new ShapeException($"Dropout: p must be in [0, 1], got {p}");
        return p;
    }

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        P(attrs);
        if (!inputs[0].DType.IsFloating()) throw new ShapeException($"Dropout: needs a floating tensor, got {inputs[0]}");
        if (inputs.Count == 2 && (inputs[1].DType != DType.Int64 || inputs[1].Numel != 1))
            throw new ShapeException($"Dropout: the seed input must be an i64 scalar, got {inputs[1]}");
        return [inputs[0], inputs[0].WithDType(DType.Bool)];
    }

    /// <summary>Fills <paramref name="keep"/> for elements [start, start + keep.Length) of a tensor dropped with probability p.</summary>
    public static void Mask(long seed, double p, long start, Span<bool> keep)
    {
        ulong key = Generator.Mix(unchecked((ulong)seed + 0x9E3779B97F4A7C15UL));
        // keep when u ≥ p with u uniform in [0, 1) on a 2^-53 grid
        ulong threshold = p >= 1 ? ulong.MaxValue : (ulong)Math.Ceiling(p * (1UL << 53));
        for (int i = 0; i < keep.Length; i++)
        {
            ulong z = Generator.Mix(unchecked(key + (ulong)(start + i + 1) * 0x9E3779B97F4A7C15UL));
            keep[i] = p < 1 && (z >> 11) >= threshold;
        }
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes)
    {
        double p = P(attrs);
        long seed = attrs.GetLong("seed", 0);
        if (inputs.Count == 2) seed = (long)Generator.Mix(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)inputs[1].AsInt64()[0]));
        var x = (float[])inputs[0].Storage;
        var y = DenseTensor.Zeros(outputTypes[0].Shape);
        var m = DenseTensor.Zeros(outputTypes[1].Shape, DType.Bool);
        var yd = (float[])y.Storage;
        var md = (bool[])m.Storage;
        if (p == 0) { x.CopyTo(yd, 0); md.AsSpan().Fill(true); return [y, m]; }
        float scale = p >= 1 ? 0f : (float)(1.0 / (1.0 - p));
        ParallelChunks.For(yd.Length, (s, n) =>
        {
            var keep = md.AsSpan(s, n);
            Mask(seed, p, s, keep);
            for (int i = 0; i < n; i++) yd[s + i] = keep[i] ? x[s + i] * scale : 0f;
        });
        return [y, m];
    }

    /// <summary>g·mask/(1-p), from the mask output (no re-draw); no gradient for the mask itself.</summary>
    public override Value?[] Gradient(GradContext c)
    {
        var bld = c.B;
        var g = c.GradOutputs[0];
        var r = new Value?[c.Inputs.Length]; // the seed input gets no gradient
        if (g is null) return r;
        double p = P(c.Attrs);
        r[0] = p == 0 ? g : p >= 1 ? bld.ZerosLike(c.X(0)) : bld.ScaleBy(bld.Mul(g, bld.Cast(c.Outputs[1], g.DType)), 1.0 / (1.0 - p));
        return r;
    }
}
