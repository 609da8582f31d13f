using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>
/// Recognizes the elementwise chains exporters emit for operators ONNX opsets 13–17 lack, while importing, and
/// replaces the chain's last value by one IR op: GELU (erf and tanh forms, as torch.onnx writes them) and the
/// causal mask of attention (Where with a constant strict-upper-triangle condition and −∞, or Add of a constant
/// triu(−∞) matrix). The chain's earlier nodes become dead and are removed; the function computed is unchanged.
/// </summary>
internal static class PatternFusion
{
    private const double Tol = 1e-4;

    private static bool IsScalar(Value v, double expected) =>
        v.Kind == ValueKind.Constant && v.Data is { Length: 1 } d && d.DType.IsFloating()
        && Math.Abs(d.GetDouble(0) - expected) <= Tol * Math.Max(1, Math.Abs(expected));

    /// <summary>The other operand when <paramref name="v"/> is <c>Mul(c, other)</c> or <c>Mul(other, c)</c>.</summary>
    private static Value? MulBy(Value v, double c) => v.Producer is { Op.Name: "Mul" } n
        ? (IsScalar(n.Inputs[0], c) ? n.Inputs[1] : IsScalar(n.Inputs[1], c) ? n.Inputs[0] : null) : null;

    private static Value? AddOf(Value v, double c) => v.Producer is { Op.Name: "Add" } n
        ? (IsScalar(n.Inputs[0], c) ? n.Inputs[1] : IsScalar(n.Inputs[1], c) ? n.Inputs[0] : null) : null;

    /// <summary>Operands of a binary node of the given op.</summary>
    private static (Value A, Value B)? Bin(Value v, string op) => v.Producer is { } n && n.Op.Name == op && n.Inputs.Length == 2 ? (n.Inputs[0], n.Inputs[1]) : null;

    /// <summary>
    /// If <c>a·b</c> (an ONNX Mul being imported) is GELU of some x, returns x and the approximation.
    /// erf:  (x · (erf(x / √2) + 1)) · 0.5   tanh: (x · (tanh(√(2/π) · (x + 0.044715 · x·x·x)) + 1)) · 0.5
    /// </summary>
    public static (Value X, string Approx)? Gelu(Value a, Value b)
    {
        // outer: Mul(inner, 0.5) with inner = Mul(x, 1 + f(x)), or Mul(x·0.5, 1 + f(x)) orderings
        foreach (var (half, other) in new[] { (a, b), (b, a) })
        {
            if (IsScalar(half, 0.5) && Bin(other, "Mul") is var (p, q))
            {
                if (Match(p, q) is { } r1) return r1;
                if (Match(q, p) is { } r2) return r2;
            }
            if (MulBy(half, 0.5) is { } x && Match(x, other) is { } r3) return r3;
        }
        return null;
    }

    private static (Value X, string Approx)? Match(Value x, Value onePlus)
    {
        var f = AddOf(onePlus, 1.0);
        if (f is null) return null;
        if (f.Producer is { Op.Name: "Erf" } erf)
        {
            var arg = erf.Inputs[0];
            if (arg.Producer is { Op.Name: "Div" } div && div.Inputs[0] == x && IsScalar(div.Inputs[1], Math.Sqrt(2))) return (x, "none");
            if (MulBy(arg, 1 / Math.Sqrt(2)) == x) return (x, "none");
            return null;
        }
        if (f.Producer is { Op.Name: "Tanh" } tanh && MulBy(tanh.Inputs[0], Math.Sqrt(2 / Math.PI)) is { } sum && Bin(sum, "Add") is var (s0, s1))
        {
            var cube = s0 == x ? MulBy(s1, 0.044715) : s1 == x ? MulBy(s0, 0.044715) : null;
            if (cube is not null && IsCube(cube, x)) return (x, "tanh");
        }
        return null;
    }

    private static bool IsCube(Value c, Value x)
    {
        if (c.Producer is { Op.Name: "Pow" } pow) return pow.Inputs[0] == x && IsScalar(pow.Inputs[1], 3);
        if (Bin(c, "Mul") is not var (a, b)) return false;
        bool Sq(Value v) => Bin(v, "Mul") is var (p, q) && p == x && q == x;
        return (a == x && Sq(b)) || (b == x && Sq(a));
    }

    /// <summary>True when <paramref name="cond"/> is a constant bool matrix that is true exactly where key &gt; query.</summary>
    public static bool IsStrictUpper(Value cond, Value scores, bool negated = false)
    {
        if (cond.Kind != ValueKind.Constant || cond.Data is not { DType: DType.Bool } d || cond.Rank < 2) return false;
        int tq = cond.Shape[-2], tk = cond.Shape[-1];
        if (cond.Type.Numel != (long)tq * tk || scores.Rank < 2 || scores.Shape[-2] != tq || scores.Shape[-1] != tk) return false;
        var m = d.AsBool();
        for (int i = 0; i < tq; i++)
            for (int j = 0; j < tk; j++)
                if (m[i * tk + j] != (negated ? j <= i : j > i)) return false;
        return true;
    }

    /// <summary>True for a constant scalar −∞.</summary>
    public static bool IsNegInf(Value v) => v.Kind == ValueKind.Constant && v.Data is { Length: 1 } d && d.DType.IsFloating() && double.IsNegativeInfinity(d.GetDouble(0));

    /// <summary>True when <paramref name="mask"/> is a constant float [Tq, Tk] matrix: −∞ where key &gt; query, 0 elsewhere.</summary>
    public static bool IsAdditiveCausal(Value mask, Value scores)
    {
        if (mask.Kind != ValueKind.Constant || mask.Data is not { DType: DType.Float32 } d || mask.Rank < 2) return false;
        int tq = mask.Shape[-2], tk = mask.Shape[-1];
        if (mask.Type.Numel != (long)tq * tk || scores.Rank < 2 || scores.Shape[-2] != tq || scores.Shape[-1] != tk) return false;
        var m = d.AsFloat();
        for (int i = 0; i < tq; i++)
            for (int j = 0; j < tk; j++)
                if (j > i ? !float.IsNegativeInfinity(m[i * tk + j]) : m[i * tk + j] != 0) return false;
        return true;
    }
}
