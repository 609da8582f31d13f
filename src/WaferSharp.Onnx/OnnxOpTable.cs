using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>
/// How each supported ONNX operator (default domain, opsets 13–17) maps onto graph IR ops. Inputs that decide
/// shapes (Reshape's shape, Slice's bounds, axes, Expand's shape, …) must be constants once folded; a few
/// operators with no IR kernel (Range, Sin, Cos) are evaluated only on constant inputs.
/// </summary>
public static class OnnxOpTable
{
    private delegate Value?[] Mapper(OnnxNode n);

    private static readonly Dictionary<string, (Mapper Map, string Note)> Table = new(StringComparer.Ordinal)
    {
        ["Add"] = (n => Binary(n, "Add"), "→ Add"),
        ["Sub"] = (n => Binary(n, "Sub"), "→ Sub"),
        ["Mul"] = (n => Binary(n, "Mul"), "→ Mul"),
        ["Div"] = (n => Binary(n, "Div"), "→ Div"),
        ["Pow"] = (Pow, "→ Pow (exponent cast to the base's dtype)"),
        ["Max"] = (n => Variadic(n, "Maximum"), "→ Maximum"),
        ["Min"] = (n => Variadic(n, "Minimum"), "→ Minimum"),
        ["Sqrt"] = (n => Unary(n, "Sqrt"), "→ Sqrt"),
        ["Reciprocal"] = (n => Unary(n, "Reciprocal"), "→ Reciprocal"),
        ["Neg"] = (Neg, "→ Neg (integers: 0 - x)"),
        ["Abs"] = (n => Unary(n, "Abs"), "→ Abs"),
        ["Exp"] = (n => Unary(n, "Exp"), "→ Exp"),
        ["Log"] = (n => Unary(n, "Log"), "→ Log"),
        ["Erf"] = (n => Unary(n, "Erf"), "→ Erf"),
        ["Tanh"] = (n => Unary(n, "Tanh"), "→ Tanh"),
        ["Sigmoid"] = (n => Unary(n, "Sigmoid"), "→ Sigmoid"),
        ["Relu"] = (n => Unary(n, "Relu"), "→ Relu"),
        ["LeakyRelu"] = (LeakyRelu, "→ Where(x > 0, x, alpha·x)"),
        ["Sin"] = (n => ConstantEval.Unary(n, MathF.Sin), "constant inputs only (folded while importing)"),
        ["Cos"] = (n => ConstantEval.Unary(n, MathF.Cos), "constant inputs only (folded while importing)"),
        ["Softmax"] = (n => [n.Ctx.Op("Softmax", Attrs.Of(("axis", n.Int("axis", -1))), n.In(0))], "→ Softmax"),
        ["LogSoftmax"] = (n => [n.Ctx.Op("LogSoftmax", Attrs.Of(("axis", n.Int("axis", -1))), n.In(0))], "→ LogSoftmax"),
        ["LayerNormalization"] = (LayerNormalization, "→ LayerNorm (last axis; opset 17)"),
        ["Gemm"] = (Gemm, "→ Linear, or MatMul + scale + bias"),
        ["MatMul"] = (MatMul, "→ MatMul (Transpose of the last two axes folds into trans_a/trans_b; x·Wᵀ → Linear)"),
        ["ReduceMean"] = (n => Reduce(n, "ReduceMean"), "→ ReduceMean"),
        ["ReduceSum"] = (n => Reduce(n, "ReduceSum"), "→ ReduceSum"),
        ["ReduceMax"] = (n => Reduce(n, "ReduceMax"), "→ ReduceMax"),
        ["ReduceMin"] = (n => Reduce(n, "ReduceMin"), "→ ReduceMin"),
        ["Reshape"] = (Reshape, "→ Reshape (shape folded to a constant)"),
        ["Transpose"] = (Transpose, "→ Transpose"),
        ["Flatten"] = (n => [n.Ctx.Op("Flatten", Attrs.Of(("axis", n.Int("axis", 1))), n.In(0))], "→ Flatten"),
        ["Squeeze"] = (Squeeze, "→ Squeeze"),
        ["Unsqueeze"] = (Unsqueeze, "→ Unsqueeze"),
        ["Slice"] = (Slice, "→ one Slice per sliced axis"),
        ["Split"] = (Split, "→ Split"),
        ["Concat"] = (n => [n.Ctx.Op("Concat", Attrs.Of(("axis", n.Int("axis", 0))), n.Inputs.Select((v, i) => n.In(i)).ToArray())], "→ Concat"),
        ["Gather"] = (n => [n.Ctx.Op("Gather", Attrs.Of(("axis", n.Int("axis", 0))), n.In(0), n.In(1))], "→ Gather"),
        ["Where"] = (Where, "→ Where (a constant causal condition with −∞ → CausalMask)"),
        ["Equal"] = (n => [n.Ctx.Op("Equal", n.In(0), n.In(1))], "→ Equal"),
        ["Less"] = (n => [n.Ctx.Op("Less", n.In(0), n.In(1))], "→ Less"),
        ["LessOrEqual"] = (n => [n.Ctx.Op("LessEqual", n.In(0), n.In(1))], "→ LessEqual"),
        ["Greater"] = (n => [n.Ctx.Op("Greater", n.In(0), n.In(1))], "→ Greater"),
        ["GreaterOrEqual"] = (n => [n.Ctx.Op("GreaterEqual", n.In(0), n.In(1))], "→ GreaterEqual"),
        ["Not"] = (n => [n.Ctx.Op("Not", n.In(0))], "→ Not"),
        ["And"] = (n => [n.Ctx.Op("And", n.In(0), n.In(1))], "→ And"),
        ["Or"] = (n => [n.Ctx.Op("Or", n.In(0), n.In(1))], "→ Or"),
        ["Cast"] = (Cast, "→ Cast (double → float32)"),
        ["Constant"] = (Constant, "→ constant"),
        ["ConstantOfShape"] = (ConstantOfShape, "→ Full"),
        ["Shape"] = (Shape, "→ constant (static shapes)"),
        ["Size"] = (n => [n.Ctx.Const(DenseTensor.Scalar(n.In(0).Type.Numel))], "→ constant (static shapes)"),
        ["Expand"] = (Expand, "→ Expand"),
        ["Range"] = (ConstantEval.Range, "constant inputs only (folded while importing)"),
        ["Identity"] = (n => [n.In(0)], "→ its input"),
        ["Dropout"] = (Dropout, "→ identity (inference export)"),
        ["Trilu"] = (Trilu, "→ Where(static triangle mask, x, 0)"),
    };

    /// <summary>Supported operator types with a note on how each maps.</summary>
    public static IReadOnlyDictionary<string, string> Supported { get; } =
        Table.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value.Note);

    internal static Value?[] Map(OnnxNode n) => Table[n.OpType].Map(n);

    private static Value?[] Unary(OnnxNode n, string op) => [n.Ctx.Op(op, n.In(0))];

    private static Value?[] Binary(OnnxNode n, string op)
    {
        Value a = n.In(0), b = n.In(1);
        // Fuse x·Wᵀ (a Linear without bias) + b into one Linear when nothing else reads the product.
        if (op == "Add")
        {
            if (FuseBias(n, a, b, 0) is { } f1) return [f1];
            if (FuseBias(n, b, a, 1) is { } f2) return [f2];
            if (PatternFusion.IsAdditiveCausal(b, a) && Broadcasts(a, b)) return [Causal(n, a)];
            if (PatternFusion.IsAdditiveCausal(a, b) && Broadcasts(b, a)) return [Causal(n, b)];
        }
        if (op == "Mul" && a.DType.IsFloating() && PatternFusion.Gelu(a, b) is var (gx, approx))
            return [n.Ctx.Op("Gelu", Attrs.Of(("approximate", approx)), gx)];
        if (op == "Mul")
        {
            if (FuseScale(n, a, b, 0) is { } s1) return [s1];
            if (FuseScale(n, b, a, 1) is { } s2) return [s2];
        }
        return [n.Ctx.Op(op, a, b)];
    }

    /// <summary>True when broadcasting <paramref name="other"/> against <paramref name="x"/> keeps x's shape.</summary>
    private static bool Broadcasts(Value x, Value other)
    {
        try { return WaferSharp.Tensors.Shape.Broadcast(x.Shape, other.Shape) == x.Shape; }
        catch (ArgumentException) { return false; }
    }

    private static Value Causal(OnnxNode n, Value scores) => n.Ctx.Op("CausalMask", Attrs.Of(("fill", double.NegativeInfinity)), scores);

    private static Value?[] Where(OnnxNode n)
    {
        Value c = n.In(0), a = n.In(1), b = n.In(2);
        if (a.DType.IsFloating() && PatternFusion.IsNegInf(a) && PatternFusion.IsStrictUpper(c, b) && Broadcasts(b, c)) return [Causal(n, b)];
        if (b.DType.IsFloating() && PatternFusion.IsNegInf(b) && PatternFusion.IsStrictUpper(c, a, negated: true) && Broadcasts(a, c)) return [Causal(n, a)];
        return [n.Ctx.Op("Where", c, a, b)];
    }

    private static Value? FuseBias(OnnxNode n, Value product, Value bias, int productInput) =>
        product.Producer is { Op.Name: "Linear" } lin && lin.Inputs.Length == 2 && bias.Rank == 1 && bias.Kind == ValueKind.Parameter
        && bias.Shape[0] == product.Shape[-1] && bias.DType == product.DType && n.Ctx.UseCount(n.Proto.Input[productInput]) == 1
            ? n.Ctx.Op("Linear", lin.Inputs[0], lin.Inputs[1], bias) : null;

    /// <summary>
    /// Folds <c>MatMul(x, y) · s</c> with a constant scalar s (attention's 1/√d score scale) into MatMul{alpha = s}
    /// when nothing else reads the product: the GEMM scales its accumulators as it stores them, which is the same
    /// single float rounding as the separate Mul, without another pass over the scores.
    /// </summary>
    private static Value? FuseScale(OnnxNode n, Value product, Value scale, int productInput)
    {
        if (product.Producer is not { Op.Name: "MatMul" } mm || mm.Attrs.Has("alpha") || product.DType != DType.Float32) return null;
        if (scale.Kind != ValueKind.Constant || scale.Data is not { Length: 1 } d || d.DType != DType.Float32) return null;
        if (!Broadcasts(product, scale) || n.Ctx.UseCount(n.Proto.Input[productInput]) != 1) return null;
        var attrs = Attrs.Of(("trans_a", mm.Attrs.GetBool("trans_a", false)), ("trans_b", mm.Attrs.GetBool("trans_b", false)), ("alpha", d.GetDouble(0)));
        return n.Ctx.Op("MatMul", attrs, mm.Inputs[0], mm.Inputs[1]);
    }

    private static Value?[] Variadic(OnnxNode n, string op)
    {
        var acc = n.In(0);
        for (int i = 1; i < n.Inputs.Length; i++) acc = n.Ctx.Op(op, acc, n.In(i));
        return [acc];
    }

    private static Value?[] Pow(OnnxNode n)
    {
        Value a = n.In(0), b = n.In(1);
        if (b.DType != a.DType) b = n.Ctx.Op("Cast", Attrs.Of(("to", a.DType.ShortName())), b);
        return [n.Ctx.Op("Pow", a, b)];
    }

    private static Value?[] Neg(OnnxNode n)
    {
        var x = n.In(0);
        return x.DType.IsFloating() ? [n.Ctx.Op("Neg", x)] : [n.Ctx.Op("Sub", n.Ctx.Scalar(0, x.DType), x)];
    }

    private static Value?[] LeakyRelu(OnnxNode n)
    {
        var x = n.In(0);
        double alpha = n.Float("alpha", 0.01f);
        var pos = n.Ctx.Op("Greater", x, n.Ctx.Scalar(0, x.DType));
        return [n.Ctx.Op("Where", pos, x, n.Ctx.Op("Mul", x, n.Ctx.Scalar(alpha, x.DType)))];
    }

    private static Value?[] LayerNormalization(OnnxNode n)
    {
        var x = n.In(0);
        long axis = n.Int("axis", -1);
        if (axis != -1 && axis != x.Rank - 1) throw new NotSupportedException($"{n.Ctx.Source}: node '{n.Label}' (LayerNormalization) normalizes from axis {axis}; only the last axis is supported");
        if (n.OutputUsed(1) || n.OutputUsed(2)) throw new NotSupportedException($"{n.Ctx.Source}: node '{n.Label}' (LayerNormalization): the Mean and InvStdDev outputs are not supported");
        var ins = n.Opt(2) is { } b ? new[] { x, n.In(1), b } : new[] { x, n.In(1) };
        return [n.Ctx.Op("LayerNorm", Attrs.Of(("eps", (double)n.Float("epsilon", 1e-5f))), ins)];
    }

    private static Value?[] Gemm(OnnxNode n)
    {
        Value a = n.In(0), b = n.In(1);
        var c = n.Opt(2);
        double alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        bool ta = n.Int("transA", 0) != 0, tb = n.Int("transB", 0) != 0;
        if (a.Rank != 2 || b.Rank != 2) throw n.Bad($"A and B must be matrices, got {a.Type} and {b.Type}");
        if (!ta && tb && alpha == 1 && (c is null || (beta == 1 && c.Rank == 1 && c.Shape[0] == b.Shape[0])))
            return [c is null ? n.Ctx.Op("Linear", a, b) : n.Ctx.Op("Linear", a, b, c)];
        var y = n.Ctx.Op("MatMul", Attrs.Of(("trans_a", ta), ("trans_b", tb)), a, b);
        if (alpha != 1) y = n.Ctx.Op("Mul", y, n.Ctx.Scalar(alpha, y.DType));
        if (c is not null && beta != 0) y = n.Ctx.Op("Add", y, beta == 1 ? c : n.Ctx.Op("Mul", c, n.Ctx.Scalar(beta, c.DType)));
        return [y];
    }

    private static bool SwapsLastTwo(Node t) =>
        t.Op.Name == "Transpose" && t.Attrs.GetInts("perm") is var p && p.Length >= 2
        && p[^1] == p.Length - 2 && p[^2] == p.Length - 1 && p.Take(p.Length - 2).Select((x, i) => x == i).All(ok => ok);

    private static Value?[] MatMul(OnnxNode n)
    {
        Value a = n.In(0), b = n.In(1);
        bool ta = false, tb = false;
        if (b.Producer is { } pb && SwapsLastTwo(pb) && b.Rank >= 2)
        {
            // x·Wᵀ with a 2-D weight is a Linear; otherwise let the GEMM read the operand transposed.
            if (b.Rank == 2 && pb.Inputs[0].Kind == ValueKind.Parameter && a.Rank >= 2)
                return [n.Ctx.Op("Linear", a, pb.Inputs[0])];
            b = pb.Inputs[0]; tb = true;
        }
        if (a.Producer is { } pa && SwapsLastTwo(pa) && a.Rank >= 2) { a = pa.Inputs[0]; ta = true; }
        return [n.Ctx.Op("MatMul", ta || tb ? Attrs.Of(("trans_a", ta), ("trans_b", tb)) : null, a, b)];
    }

    private static Value?[] Reduce(OnnxNode n, string op)
    {
        var x = n.In(0);
        var axes = n.Axes(1);
        bool keep = n.Int("keepdims", 1) != 0;
        if ((axes is null || axes.Length == 0) && n.Int("noop_with_empty_axes", 0) != 0) return [x];
        var attrs = axes is { Length: > 0 } ? Attrs.Of(("axes", axes.Select(a => checked((int)a)).ToArray()), ("keepdims", keep)) : Attrs.Of(("keepdims", keep));
        return [n.Ctx.Op(op, attrs, x)];
    }

    private static Value?[] Reshape(OnnxNode n)
    {
        var x = n.In(0);
        var spec = n.ConstInts(1, "target shape").Select(d => checked((int)d)).ToArray();
        if (n.Int("allowzero", 0) != 0 && spec.Contains(0)) throw new NotSupportedException($"{n.Ctx.Source}: node '{n.Label}' (Reshape) uses allowzero=1 with a 0 in the shape; not supported");
        return [n.Ctx.Op("Reshape", Attrs.Of(("shape", spec)), x)];
    }

    private static Value?[] Transpose(OnnxNode n)
    {
        var x = n.In(0);
        var perm = n.Ints("perm")?.Select(p => checked((int)p)).ToArray() ?? Enumerable.Range(0, x.Rank).Reverse().ToArray();
        if (perm.Select((p, i) => p == i).All(ok => ok)) return [x];
        return [n.Ctx.Op("Transpose", Attrs.Of(("perm", perm)), x)];
    }

    private static Value?[] Squeeze(OnnxNode n)
    {
        var axes = n.Axes(1);
        return [n.Ctx.Op("Squeeze", axes is null ? null : Attrs.Of(("axes", axes.Select(a => checked((int)a)).ToArray())), n.In(0))];
    }

    private static Value?[] Unsqueeze(OnnxNode n)
    {
        var axes = n.Axes(1) ?? throw n.Bad("axes are required");
        return [n.Ctx.Op("Unsqueeze", Attrs.Of(("axes", axes.Select(a => checked((int)a)).ToArray())), n.In(0))];
    }

    private static Value?[] Slice(OnnxNode n)
    {
        var x = n.In(0);
        var starts = n.ConstInts(1, "starts");
        var ends = n.ConstInts(2, "ends");
        var axes = n.Opt(3) is not null ? n.ConstInts(3, "axes") : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = n.Opt(4) is not null ? n.ConstInts(4, "steps") : Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw n.Bad($"starts, ends, axes and steps have different lengths ({starts.Length}, {ends.Length}, {axes.Length}, {steps.Length})");
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = checked((int)(axes[i] < 0 ? axes[i] + x.Rank : axes[i]));
            if (axis < 0 || axis >= x.Rank) throw n.Bad($"axis {axes[i]} is out of range for {x.Type}");
            // int64 extremes mean "to the end"; clamp into int range the IR slice resolves against the dim.
            long lim = x.Shape[axis] + 1L;
            long s = Math.Clamp(starts[i], -lim, lim), e = Math.Clamp(ends[i], -lim - 1, lim);
            if (s == 0 && e >= x.Shape[axis] && steps[i] == 1) continue;
            x = n.Ctx.Op("Slice", Attrs.Of(("axis", axis), ("start", s), ("end", e), ("step", steps[i])), x);
        }
        return [x];
    }

    private static Value?[] Split(OnnxNode n)
    {
        var x = n.In(0);
        int axis = checked((int)n.Int("axis", 0));
        int ax = axis < 0 ? axis + x.Rank : axis;
        if (ax < 0 || ax >= x.Rank) throw n.Bad($"axis {axis} is out of range for {x.Type}");
        long[] sizes = n.Opt(1) is not null ? n.ConstInts(1, "split sizes") : n.Ints("split") ?? [];
        if (sizes.Length == 0)
        {
            int k = n.Has("num_outputs") ? checked((int)n.Int("num_outputs", 1)) : n.OutputCount;
            int dim = x.Shape[ax], chunk = (dim + k - 1) / k;
            sizes = Enumerable.Range(0, k).Select(i => (long)Math.Max(0, Math.Min(chunk, dim - i * chunk))).ToArray();
        }
        var outs = n.Ctx.Emit("Split", Attrs.Of(("axis", ax), ("sizes", sizes.Select(s => checked((int)s)).ToArray())), x);
        return outs;
    }

    private static Value?[] Cast(OnnxNode n)
    {
        var to = OnnxTensors.ToDType(checked((int)n.Int("to", 0)), $"{n.Ctx.Source}: node '{n.Label}' (Cast) target");
        var x = n.In(0);
        return [x.DType == to ? x : n.Ctx.Op("Cast", Attrs.Of(("to", to.ShortName())), x)];
    }

    private static Value?[] Constant(OnnxNode n)
    {
        if (n.Tensor("value") is { } t) return [n.Ctx.Const(t)];
        if (n.Has("value_float")) return [n.Ctx.Const(DenseTensor.Scalar(n.Float("value_float", 0)))];
        if (n.Has("value_int")) return [n.Ctx.Const(DenseTensor.Scalar(n.Int("value_int", 0)))];
        if (n.Floats("value_floats") is { } fs) return [n.Ctx.Const(DenseTensor.FromArray(fs, fs.Length))];
        if (n.Ints("value_ints") is { } ls) return [n.Ctx.Const(DenseTensor.FromArray(ls, ls.Length))];
        throw new NotSupportedException($"{n.Ctx.Source}: node '{n.Label}' (Constant) has no tensor, float or int value (string and sparse constants are not supported)");
    }

    private static Value?[] ConstantOfShape(OnnxNode n)
    {
        var shape = n.ConstInts(0, "shape").Select(d => checked((int)d)).ToArray();
        var v = n.Tensor("value");
        if (v is not null && v.Length != 1) throw n.Bad($"value must hold one element, got {v.Shape}");
        var dtype = v?.DType ?? DType.Float32;
        double value = v is null ? 0 : v.GetDouble(0);
        return [n.Ctx.Op("Full", Attrs.Of(("shape", shape), ("value", value), ("dtype", dtype.ShortName())))];
    }

    private static Value?[] Shape(OnnxNode n)
    {
        var s = n.In(0).Shape;
        long start = n.Int("start", 0), end = n.Int("end", s.Rank);
        if (start < 0) start += s.Rank;
        if (end < 0) end += s.Rank;
        start = Math.Clamp(start, 0, s.Rank); end = Math.Clamp(end, start, s.Rank);
        var d = new long[end - start];
        for (int i = 0; i < d.Length; i++) d[i] = s[(int)start + i];
        return [n.Ctx.Const(DenseTensor.FromArray(d, d.Length))];
    }

    private static Value?[] Expand(OnnxNode n)
    {
        var x = n.In(0);
        var shape = n.ConstInts(1, "shape").Select(d => checked((int)d)).ToArray();
        var target = WaferSharp.Tensors.Shape.Broadcast(x.Shape, new Shape(shape));
        return [target == x.Shape ? x : n.Ctx.Op("Expand", Attrs.Of(("shape", target.ToArray())), x)];
    }

    private static Value?[] Dropout(OnnxNode n)
    {
        if (n.Opt(2) is { Kind: ValueKind.Constant, Data: { } tm } && tm.Length == 1 && tm.GetDouble(0) != 0)
            throw new NotSupportedException($"{n.Ctx.Source}: node '{n.Label}' (Dropout) has training_mode=true; export the model in eval mode");
        var x = n.In(0);
        return [x, n.OutputUsed(1) ? n.Ctx.Op("Full", Attrs.Of(("shape", x.Shape.ToArray()), ("value", 1.0), ("dtype", "bool"))) : null];
    }

    private static Value?[] Trilu(OnnxNode n)
    {
        var x = n.In(0);
        if (x.Rank < 2) throw n.Bad($"input must have rank ≥ 2, got {x.Type}");
        long k = n.Opt(1) is not null ? n.ConstInts(1, "k")[0] : 0;
        bool upper = n.Int("upper", 1) != 0;
        int rows = x.Shape[-2], cols = x.Shape[-1];
        var mask = DenseTensor.Zeros(new Shape(rows, cols), DType.Bool);
        var m = mask.AsBool();
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                m[i * cols + j] = upper ? j - i >= k : j - i <= k;
        return [n.Ctx.Op("Where", n.Ctx.Const(mask), x, n.Ctx.Scalar(0, x.DType))];
    }
}
