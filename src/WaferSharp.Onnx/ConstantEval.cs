using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>
/// ONNX operators with no graph-IR kernel that exporters use only on constants (position tables, shape
/// arithmetic): evaluated while importing. A non-constant input is reported, naming the node.
/// </summary>
internal static class ConstantEval
{
    private static DenseTensor Need(OnnxNode n, int i) =>
        n.In(i) is { Kind: ValueKind.Constant, Data: { } d } ? d
        : throw new NotSupportedException($"{n.Ctx.Source}: node '{n.Label}' ({n.OpType}) is supported only on constant inputs (folded while importing), but input {i} depends on the model's inputs or parameters");

    /// <summary>A float function applied elementwise to a constant.</summary>
    public static Value?[] Unary(OnnxNode n, Func<float, float> f)
    {
        var x = Need(n, 0);
        if (x.DType != DType.Float32) throw n.Bad($"needs a float32 input, got {x.DType.ShortName()}{x.Shape}");
        var o = DenseTensor.Zeros(x.Shape);
        var s = x.AsFloat(); var d = o.AsFloat();
        for (int i = 0; i < d.Length; i++) d[i] = f(s[i]);
        return [n.Ctx.Const(o)];
    }

    /// <summary>Range(start, limit, delta): ⌈(limit − start) / delta⌉ elements of the inputs' dtype.</summary>
    public static Value?[] Range(OnnxNode n)
    {
        DenseTensor s = Need(n, 0), l = Need(n, 1), d = Need(n, 2);
        if (s.Length != 1 || l.Length != 1 || d.Length != 1) throw n.Bad("start, limit and delta must be scalars");
        if (s.DType != l.DType || s.DType != d.DType) throw n.Bad("start, limit and delta must share a dtype");
        if (s.DType is DType.Int64 or DType.Int32)
        {
            long start = (long)s.GetDouble(0), limit = (long)l.GetDouble(0), delta = (long)d.GetDouble(0);
            if (s.DType == DType.Int64) { start = s.AsInt64()[0]; limit = l.AsInt64()[0]; delta = d.AsInt64()[0]; }
            if (delta == 0) throw n.Bad("delta must not be 0");
            long count = Math.Max(0, (limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
            if (count > OnnxTensors.MaxElements) throw n.Bad($"range of {count} elements is too large");
            var o = DenseTensor.Zeros(new Shape((int)count), s.DType);
            for (int i = 0; i < count; i++) o.SetDouble(i, start + i * delta);
            if (s.DType == DType.Int64) { var od = o.AsInt64(); for (int i = 0; i < od.Length; i++) od[i] = start + i * delta; }
            return [n.Ctx.Const(o)];
        }
        if (s.DType == DType.Float32)
        {
            float start = s.AsFloat()[0], limit = l.AsFloat()[0], delta = d.AsFloat()[0];
            if (delta == 0) throw n.Bad("delta must not be 0");
            double c = Math.Ceiling((limit - start) / (double)delta);
            if (!(c < OnnxTensors.MaxElements)) throw n.Bad($"range from {start} to {limit} by {delta} is too large");
            int count = (int)Math.Max(0, c);
            var o = DenseTensor.Zeros(count);
            var od = o.AsFloat();
            for (int i = 0; i < count; i++) od[i] = start + i * delta;
            return [n.Ctx.Const(o)];
        }
        throw n.Bad($"unsupported dtype {s.DType.ShortName()}");
    }
}
