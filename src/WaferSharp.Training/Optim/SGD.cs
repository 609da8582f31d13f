using WaferSharp.Graph;

namespace WaferSharp.Training;

/// <summary>
/// SGD as PyTorch: d = g + λp; with momentum μ: buf ← μ·buf + (1-τ)d (buf = d on the first step);
/// d = d + μ·buf (Nesterov) or buf; p ← p - lr·d. Defaults: momentum 0, dampening 0, weight_decay 0.
/// </summary>
public sealed class SGD : Optimizer
{
    /// <summary>μ.</summary>
    public double Momentum { get; }
    /// <summary>τ.</summary>
    public double Dampening { get; }
    /// <summary>λ (L2).</summary>
    public double WeightDecay { get; }
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>Creates the optimizer (lr is required in PyTorch; 1e-3 here).</summary>
    public SGD(IEnumerable<Parameter> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr)
    {
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
        Momentum = momentum; Dampening = dampening; WeightDecay = weightDecay; Nesterov = nesterov;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<string> StateSlots => Momentum != 0 ? ["momentum_buffer"] : [];
    /// <inheritdoc/>
    public override IReadOnlyList<string> ScalarNames { get; } = ["neg_lr", "buf_keep", "grad_keep"];

    /// <inheritdoc/>
    public override float[] ScalarValues(long step, double lr) =>
        // On the first step PyTorch sets buf = d: keep 0 of the (zero) buffer and all of d.
        [(float)-lr, step == 1 ? 0f : (float)Momentum, step == 1 ? 1f : (float)(1 - Dampening)];

    /// <inheritdoc/>
    public override (Value NewParam, Value[] NewSlots) EmitUpdate(GraphBuilder b, Value p, Value g, Value[] slots, Value[] s)
    {
        var attrs = Attrs.Of(("momentum", Momentum), ("weight_decay", WeightDecay), ("nesterov", Nesterov));
        var buf = Momentum != 0 ? slots[0] : g; // without momentum the buffer input is unused
        var o = b.Emit("SgdUpdate", attrs, p, g, buf, s[0], s[1], s[2]);
        return (o[0], Momentum != 0 ? [o[1]] : []);
    }

    /// <inheritdoc/>
    public override string ToString() => $"SGD(lr={LearningRate}, momentum={Momentum}, dampening={Dampening}, weight_decay={WeightDecay}, nesterov={Nesterov})";
}
