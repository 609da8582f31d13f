using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp;

/// <summary>
/// The user-facing tensor. Eager tensors hold data and every op runs at once on the CPU; symbolic tensors
/// exist while a <see cref="Tracer"/> records a graph, and every op on them appends a node. The same
/// module code runs both ways, which is how a training step is traced once and replayed.
/// </summary>
public class Tensor
{
    private protected DenseTensor? _data;

    /// <summary>Wraps eager data.</summary>
    public Tensor(DenseTensor data) { _data = data; Type = new TensorType(data.DType, data.Shape); }

    /// <summary>A symbolic tensor standing for a graph value.</summary>
    internal Tensor(Value symbol, Tracer tracer) { Symbol = symbol; Tracer = tracer; Type = symbol.Type; }

    /// <summary>Shape-only (meta) tensor: a type without storage.</summary>
    private protected Tensor(TensorType type) { Type = type; }

    /// <summary>dtype and shape.</summary>
    public TensorType Type { get; private protected set; }
    /// <summary>Dimensions.</summary>
    public Shape Shape => Type.Shape;
    /// <summary>Element type.</summary>
    public DType DType => Type.DType;
    /// <summary>Rank.</summary>
    public int Rank => Type.Rank;
    /// <summary>Size of dimension <paramref name="d"/> (negative counts from the end).</summary>
    public int Size(int d) => Shape[d];
    /// <summary>Element count.</summary>
    public long Numel => Shape.Numel;

    /// <summary>The graph value, while tracing.</summary>
    internal Value? Symbol { get; }
    internal Tracer? Tracer { get; }
    /// <summary>True for a traced (symbolic) tensor.</summary>
    public bool IsSymbolic => Symbol is not null;
    /// <summary>True for a shape-only tensor with no storage (large zoo models).</summary>
    public bool IsMeta => _data is null && Symbol is null;

    /// <summary>The data of an eager tensor.</summary>
    public DenseTensor Data => _data ?? throw new InvalidOperationException(IsSymbolic
        ? $"tensor {Type} is symbolic (it is being traced into a graph); its values exist only when the graph runs"
        : $"tensor {Type} is shape-only (built without storage); materialize the model to read values");

    // ---- creation ----
    /// <summary>A float32 tensor from data (not copied) and dims.</summary>
    public static Tensor FromArray(float[] data, params int[] dims) => new(DenseTensor.FromArray(data, dims));
    /// <summary>An int64 tensor from data and dims.</summary>
    public static Tensor FromArray(long[] data, params int[] dims) => new(DenseTensor.FromArray(data, dims));
    /// <summary>Zeros.</summary>
    public static Tensor Zeros(params int[] dims) => new(DenseTensor.Zeros(dims));
    /// <summary>Ones.</summary>
    public static Tensor Ones(params int[] dims) => new(DenseTensor.Full(new Shape(dims), 1f));
    /// <summary>N(0,1) samples from the default generator.</summary>
    public static Tensor Randn(params int[] dims) { var t = DenseTensor.Zeros(dims); Generator.Default.FillNormal(t.AsFloat(), 0, 1); return new(t); }
    /// <summary>U[0,1) samples from the default generator.</summary>
    public static Tensor Rand(params int[] dims) { var t = DenseTensor.Zeros(dims); Generator.Default.FillUniform(t.AsFloat(), 0, 1); return new(t); }
    /// <summary>A rank-0 float32 tensor.</summary>
    public static Tensor Scalar(float v) => new(DenseTensor.Scalar(v));
    /// <summary>Implicit float → rank-0 tensor, so <c>x * 0.5f</c> works.</summary>
    public static implicit operator Tensor(float v) => Scalar(v);

    // ---- reading ----
    /// <summary>The single value.</summary>
    public float Item() => (float)Data.Item();
    /// <summary>Elements as floats.</summary>
    public float[] ToArray() => Data.ToFloatArray();

    // ---- operators ----
    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => F.Add(a, b);
    /// <summary>a - b.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => F.Sub(a, b);
    /// <summary>a * b.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => F.Mul(a, b);
    /// <summary>a / b.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => F.Div(a, b);
    /// <summary>-a.</summary>
    public static Tensor operator -(Tensor a) => F.Neg(a);

    // ---- methods in PyTorch's spelling ----
    /// <summary>torch.matmul.</summary>
    public Tensor MatMul(Tensor other) => F.MatMul(this, other);
    /// <summary>Reshape (one dim may be -1).</summary>
    public Tensor Reshape(params int[] shape) => F.Reshape(this, shape);
    /// <summary>Same as <see cref="Reshape"/> (tensors are always contiguous here).</summary>
    public Tensor View(params int[] shape) => F.Reshape(this, shape);
    /// <summary>Swaps two dims.</summary>
    public Tensor Transpose(int dim0, int dim1) => F.Transpose(this, dim0, dim1);
    /// <summary>Permutes dims.</summary>
    public Tensor Permute(params int[] dims) => F.Permute(this, dims);
    /// <summary>Sum over dims (all when none given).</summary>
    public Tensor Sum(int[]? dims = null, bool keepDim = false) => F.Sum(this, dims, keepDim);
    /// <summary>Mean over dims (all when none given).</summary>
    public Tensor Mean(int[]? dims = null, bool keepDim = false) => F.Mean(this, dims, keepDim);
    /// <summary>Max over dims.</summary>
    public Tensor Max(int[]? dims = null, bool keepDim = false) => F.Max(this, dims, keepDim);
    /// <summary>exp.</summary>
    public Tensor Exp() => F.Exp(this);
    /// <summary>log.</summary>
    public Tensor Log() => F.Log(this);
    /// <summary>sqrt.</summary>
    public Tensor Sqrt() => F.Sqrt(this);
    /// <summary>tanh.</summary>
    public Tensor Tanh() => F.Tanh(this);
    /// <summary>Softmax along a dim.</summary>
    public Tensor Softmax(int dim) => F.Softmax(this, dim);
    /// <summary>Converts dtype.</summary>
    public Tensor To(DType dtype) => F.Cast(this, dtype);

    /// <summary>Short description.</summary>
    public override string ToString() => $"Tensor({Type}{(IsSymbolic ? ", symbolic" : IsMeta ? ", meta" : "")})";
}
