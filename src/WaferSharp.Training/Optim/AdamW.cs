using WaferSharp.Graph;

namespace WaferSharp.Training;

/// <summary>
/// Adam and AdamW exactly as PyTorch's single-tensor implementation: m ← β₁m + (1-β₁)g, v ← β₂v + (1-β₂)g²,
/// p ← p·(1 - lr·λ) [AdamW] - (lr/(1-β₁ᵗ))·m / (√v/√(1-β₂ᵗ) + ε). Adam adds λ·p to g instead (L2).
/// </summary>
public class Adam : Optimizer
{
    /// <summary>β₁.</summary>
    public double Beta1 { get; }
    /// <summary>β₂.</summary>
    public double Beta2 { get; }
    /// <summary>ε.</summary>
    public double Eps { get; }
    /// <summary>Weight decay λ.</summary>
    public double WeightDecay { get; }
    /// <summary>True for decoupled decay (AdamW).</summary>
    protected virtual bool Decoupled => false;

    /// <summary>PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.</summary>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : base(parameters, lr)
    {
        if (beta1 is < 0 or >= 1 || beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), $"betas must be in [0, 1), got ({beta1}, {beta2})");
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<string> StateSlots { get; } = ["exp_avg", "exp_avg_sq"];
    /// <inheritdoc/>
    public override IReadOnlyList<string> ScalarNames { get; } = ["decay", "step_size", "bias_correction2_sqrt"];

    /// <inheritdoc/>
    public override float[] ScalarValues(long step, double lr)
    {
        double bc1 = 1 - Math.Pow(Beta1, step), bc2 = 1 - Math.Pow(Beta2, step);
        double decay = Decoupled ? 1 - lr * WeightDecay : 1;
        return [(float)decay, (float)(lr / bc1), (float)Math.Sqrt(bc2)];
    }

    /// <inheritdoc/>
    public override (Value NewParam, Value[] NewSlots) EmitUpdate(GraphBuilder b, Value p, Value g, Value[] slots, Value[] s)
    {
        var attrs = Attrs.Of(("beta1", Beta1), ("beta2", Beta2), ("eps", Eps), ("l2", Decoupled ? 0.0 : WeightDecay));
        var o = b.Emit("AdamUpdate", attrs, p, g, slots[0], slots[1], s[0], s[1], s[2]);
        return (o[0], [o[1], o[2]]);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name}(lr={LearningRate}, betas=({Beta1}, {Beta2}), eps={Eps}, weight_decay={WeightDecay})";
}

/// <summary>AdamW (decoupled weight decay), PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01.</summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer.</summary>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(parameters, lr, beta1, beta2, eps, weightDecay) { }

    /// <inheritdoc/>
    protected override bool Decoupled => true;
}
