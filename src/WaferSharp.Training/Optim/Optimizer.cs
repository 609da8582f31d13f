using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Training;

/// <summary>
/// Base of optimizers with PyTorch semantics. An optimizer does not run eagerly: it emits its update as graph
/// ops (so a training step is one graph the compiler can place on a wafer) and supplies, per step, the few
/// host scalars that depend on the step count and learning rate (PyTorch computes those in Python floats too).
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<Parameter, DenseTensor[]> _state = new((IEqualityComparer<Parameter>)ReferenceEqualityComparer.Instance);

    /// <summary>Takes the parameters to train (frozen ones, RequiresGrad = false, are skipped).</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, double lr)
    {
        Params = parameters.Where(p => p.RequiresGrad).ToList();
        if (Params.Count == 0) throw new ArgumentException("optimizer got an empty parameter list");
        if (lr < 0) throw new ArgumentOutOfRangeException(nameof(lr), $"learning rate must be ≥ 0, got {lr}");
        LearningRate = lr;
    }

    /// <summary>Trainable parameters, in order.</summary>
    public IReadOnlyList<Parameter> Params { get; }
    /// <summary>Base learning rate (a scheduler multiplies it).</summary>
    public double LearningRate { get; set; }
    /// <summary>Number of updates applied so far (PyTorch's state "step").</summary>
    public long StepCount { get; set; }

    /// <summary>Names of the per-parameter state tensors (e.g. "exp_avg", "exp_avg_sq").</summary>
    public abstract IReadOnlyList<string> StateSlots { get; }
    /// <summary>Names of the per-step host scalars fed to the update graph.</summary>
    public abstract IReadOnlyList<string> ScalarNames { get; }
    /// <summary>Values of <see cref="ScalarNames"/> for 1-based update number <paramref name="step"/> at learning rate <paramref name="lr"/>.</summary>
    public abstract float[] ScalarValues(long step, double lr);

    /// <summary>Emits the update of one parameter. <paramref name="scalars"/> are graph inputs in <see cref="ScalarNames"/> order.</summary>
    public abstract (Value NewParam, Value[] NewSlots) EmitUpdate(GraphBuilder b, Value param, Value grad, Value[] slots, Value[] scalars);

    /// <summary>Per-parameter state tensors (created as zeros on first use).</summary>
    public DenseTensor[] StateOf(Parameter p)
    {
        if (!_state.TryGetValue(p, out var s))
        {
            s = StateSlots.Select(_ => DenseTensor.Zeros(p.Shape, p.DType)).ToArray();
            _state[p] = s;
        }
        return s;
    }

    /// <summary>Replaces a parameter's state (after a step, or from a checkpoint).</summary>
    public void SetState(Parameter p, DenseTensor[] slots) => _state[p] = slots;

    /// <summary>Short description with hyper-parameters.</summary>
    public override string ToString() => $"{GetType().Name}(lr={LearningRate})";
}
