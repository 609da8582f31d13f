namespace WaferSharp.Graph.Ops;

/// <summary>Shared gradient rule of <see cref="Minimum"/> and <see cref="Maximum"/>.</summary>
internal static class MinMaxGradient
{
    /// <summary>
    /// The gradient goes to the chosen operand; on ties each gets half (PyTorch's rule for torch.maximum/minimum).
    /// <paramref name="wins"/> is "Greater" for Maximum, "Less" for Minimum.
    /// </summary>
    public static Value?[] Rule(GradContext c, string wins)
    {
        var (bld, g, a, b) = (c.B, c.GradOutput, c.X(0), c.X(1));
        var dt = g.DType;
        var w = bld.Add(bld.Cast(bld.Op(wins, a, b), dt), bld.ScaleBy(bld.Cast(bld.Op("Equal", a, b), dt), 0.5));
        var ga = bld.Mul(g, w); // w has the broadcast (= output) shape
        var gb = bld.Sub(g, ga);
        return [bld.SumTo(ga, a.Shape), bld.SumTo(gb, b.Shape)];
    }
}
