using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp;

/// <summary>Routes every front-end op: to the current trace when any operand is symbolic, else to the eager CPU kernel.</summary>
internal static class Dispatch
{
    public static Tensor[] Call(string opName, Attrs? attrs, params Tensor[] inputs)
    {
        var op = OpRegistry.Get(opName);
        attrs ??= Attrs.Empty;
        Tracer? tracer = null;
        foreach (var t in inputs) if (t.IsSymbolic) { tracer = t.Tracer; break; }
        if (tracer is null && Tracer.Current is { } cur && inputs.Any(t => t is Parameter)) tracer = cur;
        if (tracer is null && inputs.Length == 0) tracer = Tracer.Current;
        if (tracer is not null)
        {
            var vals = new Value[inputs.Length];
            for (int i = 0; i < vals.Length; i++) vals[i] = tracer.ValueOf(inputs[i]);
            var outs = tracer.Builder.Emit(op, attrs, vals);
            var r = new Tensor[outs.Length];
            for (int i = 0; i < r.Length; i++) r[i] = tracer.Wrap(outs[i]);
            return r;
        }
        var data = new DenseTensor[inputs.Length];
        for (int i = 0; i < data.Length; i++)
        {
            if (inputs[i].IsMeta)
                throw new InvalidOperationException($"{opName}: operand {i} is shape-only {inputs[i].Type}; run shape-only models through a trace (compile/plan), not eagerly");
            data[i] = inputs[i].Data;
        }
        var res = KernelInvoker.Run(op, data, attrs);
        var o = new Tensor[res.Length];
        for (int i = 0; i < o.Length; i++) o[i] = new Tensor(res[i]);
        return o;
    }

    public static Tensor Call1(string opName, Attrs? attrs, params Tensor[] inputs) => Call(opName, attrs, inputs)[0];
}
