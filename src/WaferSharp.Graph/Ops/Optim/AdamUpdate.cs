using System.Runtime.Intrinsics;
using WaferSharp.Tensors;

namespace WaferSharp.Graph.Ops;

/// <summary>
/// The fused Adam/AdamW update of one parameter: inputs (p, g, m, v, decay, step_size, bias_correction2_sqrt),
/// outputs (p', m', v'). Attributes: beta1, beta2, eps, l2 (Adam's coupled weight decay, 0 for AdamW whose
/// decoupled decay arrives as the <c>decay</c> factor). Float operations are in PyTorch's single-tensor order:
/// m' = m·β₁ + g·(1-β₁); v' = v·β₂ + g²·(1-β₂); p' = p·decay - (m' / (√v'/bc2 + ε))·step_size.
/// One pass over memory instead of a dozen elementwise ops, and the optimizer kernel the compiler places.
/// </summary>
public sealed class AdamUpdate : OpDef
{
    /// <inheritdoc/>
    public override string Name => "AdamUpdate";
    /// <inheritdoc/>
    public override OpKind Kind => OpKind.Other;
    /// <inheritdoc/>
    public override (int Min, int Max) Arity => (7, 7);

    /// <inheritdoc/>
    public override TensorType[] InferTypes(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        CheckArity(inputs);
        var p = inputs[0];
        if (p.DType != DType.Float32) throw new ShapeException($"AdamUpdate: parameters must be f32 master weights, got {p}");
        for (int i = 1; i < 4; i++)
            if (inputs[i] != p) throw new ShapeException($"AdamUpdate: input {i} is {inputs[i]}, expected {p}");
        for (int i = 4; i < 7; i++)
            if (inputs[i].Numel != 1) throw new ShapeException($"AdamUpdate: scalar input {i} has shape {inputs[i].Shape}");
        return [p, p, p];
    }

    /// <inheritdoc/>
    public override DenseTensor[] Execute(IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outputTypes) =>
        ExecuteDonated(inputs, [false, false, false, false], attrs, outputTypes);

    /// <summary>Updates p, m, v in place when they are donated (each element is read before it is written).</summary>
    public override DenseTensor[] ExecuteDonated(IReadOnlyList<DenseTensor> inputs, bool[] donated, Attrs attrs, TensorType[] outputTypes)
    {
        var p = inputs[0].AsFloat(); var g = inputs[1].AsFloat(); var m = inputs[2].AsFloat(); var v = inputs[3].AsFloat();
        float decay = inputs[4].AsFloat()[0], stepSize = inputs[5].AsFloat()[0], bc2 = inputs[6].AsFloat()[0];
        float b1 = attrs.GetFloat("beta1"), b2 = attrs.GetFloat("beta2"), eps = attrs.GetFloat("eps"), l2 = attrs.GetFloat("l2", 0);
        float c1 = (float)(1 - attrs.GetDouble("beta1")), c2 = (float)(1 - attrs.GetDouble("beta2"));
        var shape = outputTypes[0].Shape;
        var np = donated[0] ? inputs[0] : DenseTensor.Uninitialized(shape);
        var nm = donated.Length > 2 && donated[2] ? inputs[2] : DenseTensor.Uninitialized(shape);
        var nv = donated.Length > 3 && donated[3] ? inputs[3] : DenseTensor.Uninitialized(shape);
        var po = np.AsFloat(); var mo = nm.AsFloat(); var vo = nv.AsFloat();
        int n = p.Length;
        const int chunk = 1 << 16;
        var pa = (float[])inputs[0].Storage; var ga = (float[])inputs[1].Storage; var ma = (float[])inputs[2].Storage; var va = (float[])inputs[3].Storage;
        var poa = (float[])np.Storage; var moa = (float[])nm.Storage; var voa = (float[])nv.Storage;
        void Run(int start, int end)
        {
            int i = start;
            // Vector lanes do exactly the scalar loop's IEEE operations (no FMA), so results do not depend on
            // where a chunk boundary or the vector tail falls.
            var vb1 = Vector256.Create(b1); var vb2 = Vector256.Create(b2); var vc1 = Vector256.Create(c1); var vc2 = Vector256.Create(c2);
            var veps = Vector256.Create(eps); var vbc2 = Vector256.Create(bc2); var vdecay = Vector256.Create(decay);
            var vstep = Vector256.Create(stepSize); var vl2 = Vector256.Create(l2);
            for (; i <= end - 8; i += 8)
            {
                var gi = Vector256.Create(ga.AsSpan(i, 8));
                var pi = Vector256.Create(pa.AsSpan(i, 8));
                if (l2 != 0) gi = gi + pi * vl2;
                var mi = Vector256.Create(ma.AsSpan(i, 8)) * vb1 + gi * vc1;
                var vi = Vector256.Create(va.AsSpan(i, 8)) * vb2 + gi * gi * vc2;
                var denom = Vector256.Sqrt(vi) / vbc2 + veps;
                (pi * vdecay - mi / denom * vstep).CopyTo(poa.AsSpan(i, 8));
                mi.CopyTo(moa.AsSpan(i, 8)); vi.CopyTo(voa.AsSpan(i, 8));
            }
            for (; i < end; i++)
            {
                float gi = ga[i];
                if (l2 != 0) gi = gi + pa[i] * l2;
                float mi = ma[i] * b1 + gi * c1;
                float vi = va[i] * b2 + gi * gi * c2;
                float denom = MathF.Sqrt(vi) / bc2 + eps;
                poa[i] = pa[i] * decay - mi / denom * stepSize;
                moa[i] = mi; voa[i] = vi;
            }
        }
        if (n < 2 * chunk) Run(0, n);
        else Parallel.For(0, (n + chunk - 1) / chunk, c => Run(c * chunk, Math.Min(n, (c + 1) * chunk)));
        return [np, nm, nv];
    }

    /// <summary>About 12 FLOPs per element (incl. sqrt and divide); reads 4 tensors, writes 3.</summary>
    public override OpCost Cost(IReadOnlyList<TensorType> inputs, IReadOnlyList<TensorType> outputs, Attrs attrs)
    {
        long n = inputs[0].Numel, bytes = inputs[0].Bytes;
        return new OpCost(12 * n, 4 * bytes, 3 * bytes);
    }
}
