using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp.Zoo;

/// <summary>Traces zoo models into graphs. Tracing never reads parameter data, so shape-only models trace too.</summary>
public static class ZooTracing
{
    /// <summary>
    /// The graph of one forward pass with loss. Language models get int64 inputs "tokens" and "targets" [B, T]
    /// and output "loss" (mean next-token cross-entropy); the MLP gets float32 "x" [B, in] and "targets" [B, out]
    /// (MSE; <paramref name="seqLen"/> is ignored). Parameters are declared in <c>NamedParameters()</c> order.
    /// </summary>
    public static Graph.Graph TraceForward(Module model, ModelConfig cfg, int batch, int seqLen)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(cfg);
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), $"batch must be positive, got {batch}");
        using var tracer = new Tracer(Tracer.NamesOf(model));
        foreach (var (_, p) in model.NamedParameters()) tracer.Declare(p);
        Tensor loss;
        if (cfg.IsLanguageModel)
        {
            if (seqLen <= 0 || seqLen > cfg.SeqLen)
                throw new ArgumentOutOfRangeException(nameof(seqLen), $"{cfg.Name}: sequence length must be in 1..{cfg.SeqLen}, got {seqLen}");
            var tt = new TensorType(DType.Int64, new Shape(batch, seqLen));
            var tokens = tracer.Input("tokens", tt);
            var targets = tracer.Input("targets", tt);
            loss = model.Forward(tokens, targets);
        }
        else
        {
            var x = tracer.Input("x", new TensorType(DType.Float32, new Shape(batch, cfg.Hidden)));
            var targets = tracer.Input("targets", new TensorType(DType.Float32, new Shape(batch, cfg.Hidden)));
            loss = model.Forward(x, targets);
        }
        tracer.Builder.Output("loss", tracer.ValueOf(loss));
        return tracer.Graph;
    }

    /// <summary>Builds (shape-only) and traces a zoo model by name.</summary>
    public static Graph.Graph TraceForward(string name, int batch, int seqLen)
    {
        var cfg = ModelZoo.Get(name);
        return TraceForward(ModelZoo.Create(cfg), cfg, batch, seqLen);
    }
}
