using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp;

/// <summary>
/// A trainable tensor owned by a module. Its data is replaced (not mutated) by optimizers and
/// <c>LoadStateDict</c>. A parameter created under <see cref="Init.Meta"/> has a shape but no storage.
/// </summary>
public sealed class Parameter : Tensor
{
    /// <summary>A parameter over data.</summary>
    public Parameter(DenseTensor data, bool requiresGrad = true) : base(data) { RequiresGrad = requiresGrad; }

    /// <summary>A shape-only parameter.</summary>
    public Parameter(TensorType type, bool requiresGrad = true) : base(type) { RequiresGrad = requiresGrad; }

    /// <summary>Whether the optimizer trains it (false for frozen weights and buffers).</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>Replaces the data; the dtype and shape must match.</summary>
    public void SetData(DenseTensor data)
    {
        if (data.DType != DType || data.Shape != Shape)
            throw new ArgumentException($"parameter of type {Type} cannot take data of type {data.DType.ShortName()}{data.Shape}");
        _data = data;
    }

    /// <summary>Gives a shape-only parameter storage (zeros), or does nothing when it has some.</summary>
    public void Materialize() { if (IsMeta) _data = DenseTensor.Zeros(Shape, DType); }

    /// <summary>Short description.</summary>
    public override string ToString() => $"Parameter({Type}{(IsMeta ? ", meta" : "")})";
}

/// <summary>Parameter initialization (PyTorch's defaults) and the shape-only (meta) construction switch.</summary>
public static class Init
{
    [ThreadStatic] private static int t_meta;

    /// <summary>True while building under <see cref="Meta"/>.</summary>
    public static bool IsMeta => t_meta > 0;

    /// <summary>Within the returned scope, new parameters are shape-only: gpt3-175b builds in kilobytes.</summary>
    public static IDisposable Meta() { t_meta++; return new Scope(); }

    private sealed class Scope : IDisposable
    {
        private bool _done;
        public void Dispose() { if (!_done) { t_meta--; _done = true; } }
    }

    /// <summary>U(-bound, bound) from the default generator, or shape-only under <see cref="Meta"/>.</summary>
    public static Parameter Uniform(float bound, params int[] dims)
    {
        if (IsMeta) return new Parameter(new TensorType(DType.Float32, new Shape(dims)));
        var t = DenseTensor.Zeros(dims);
        Generator.Default.FillUniform(t.AsFloat(), -bound, bound);
        return new Parameter(t);
    }

    /// <summary>N(0, std²), or shape-only under <see cref="Meta"/>.</summary>
    public static Parameter Normal(float std, params int[] dims)
    {
        if (IsMeta) return new Parameter(new TensorType(DType.Float32, new Shape(dims)));
        var t = DenseTensor.Zeros(dims);
        Generator.Default.FillNormal(t.AsFloat(), 0, std);
        return new Parameter(t);
    }

    /// <summary>A constant fill, or shape-only under <see cref="Meta"/>.</summary>
    public static Parameter Constant(float value, params int[] dims)
    {
        if (IsMeta) return new Parameter(new TensorType(DType.Float32, new Shape(dims)));
        return new Parameter(DenseTensor.Full(new Shape(dims), value));
    }
}
