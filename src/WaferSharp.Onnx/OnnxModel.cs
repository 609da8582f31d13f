using Google.Protobuf;
using WaferSharp.Onnx.Proto;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Onnx;

/// <summary>A graph input or output as the ONNX file declares it: name, dtype and dims (null where symbolic or unknown).</summary>
/// <param name="Name">ONNX value name.</param>
/// <param name="DType">Element type.</param>
/// <param name="Dims">Per-axis size; null for a symbolic (<c>dim_param</c>) or unknown axis; the array is null when the rank is unknown.</param>
/// <param name="DimNames">Per-axis symbolic name ("batch"), or null.</param>
public sealed record OnnxValueInfo(string Name, DType DType, int?[]? Dims, string?[]? DimNames)
{
    /// <summary>Prints as <c>i64[batch,16]</c>.</summary>
    public override string ToString() =>
        DType.ShortName() + (Dims is null ? "[?]" : "[" + string.Join(",", Dims.Select((d, i) => d?.ToString() ?? DimNames![i] ?? "?")) + "]");
}

/// <summary>
/// A parsed and checked <c>.onnx</c> file: the protobuf model, its declared inputs and outputs, its decoded
/// initializers, and the default-domain opset. Loading never throws anything but
/// <see cref="InvalidDataException"/> for a damaged file, <see cref="NotSupportedException"/> for a valid
/// file using features WaferSharp lacks, and the usual file-system exceptions.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Default-domain opsets the importer implements.</summary>
    public const int MinOpset = 13, MaxOpset = 17;

    private OnnxModel(ModelProto proto, string source, string? baseDir)
    {
        Proto = proto; Source = source; BaseDir = baseDir;
    }

    /// <summary>The protobuf message (unknown fields are kept and written back by <see cref="Save"/>).</summary>
    public ModelProto Proto { get; }
    /// <summary>The file name or label used in messages.</summary>
    public string Source { get; }
    /// <summary>Folder that external data locations are relative to.</summary>
    public string? BaseDir { get; }
    /// <summary>Default-domain (<c>ai.onnx</c>) opset version.</summary>
    public int Opset { get; private set; }
    /// <summary>Graph inputs that are fed at run time (initializers listed as inputs by old exporters are excluded).</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; private set; } = [];
    /// <summary>Graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; private set; } = [];
    /// <summary>Initializers by name, decoded, in file order.</summary>
    public IReadOnlyDictionary<string, DenseTensor> Initializers => _inits;
    /// <summary>Initializer names in file order.</summary>
    public IReadOnlyList<string> InitializerNames => _initOrder;

    private readonly Dictionary<string, DenseTensor> _inits = new();
    private readonly List<string> _initOrder = new();

    /// <summary>Reads and checks a model file.</summary>
    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        return Parse(bytes, Path.GetFileName(path), Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Parses and checks model bytes; <paramref name="source"/> names the model in messages.</summary>
    public static OnnxModel Parse(byte[] bytes, string source, string? baseDir = null)
    {
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(bytes); }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException or InvalidOperationException or OverflowException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"{source}: not a valid ONNX model (truncated or corrupted protobuf: {FirstLine(e.Message)}); re-export or re-download it");
        }
        var m = new OnnxModel(proto, source, baseDir);
        m.Check();
        return m;
    }

    private static string FirstLine(string s) { int i = s.IndexOfAny(['\r', '\n']); return (i < 0 ? s : s[..i]).TrimEnd('.'); }

    private void Check()
    {
        var g = Proto.Graph ?? throw new InvalidDataException($"{Source}: not a valid ONNX model (no graph); re-export it");
        if (Proto.Functions.Count > 0) throw new NotSupportedException($"{Source}: model-local functions are not supported; re-export with functions inlined");
        if (g.SparseInitializer.Count > 0) throw new NotSupportedException($"{Source}: sparse initializers are not supported; re-export with dense weights");
        int opset = -1;
        foreach (var o in Proto.OpsetImport)
            if (o.Domain is "" or "ai.onnx") opset = (int)Math.Clamp(o.Version, int.MinValue, int.MaxValue);
        if (opset < 0) throw new InvalidDataException($"{Source}: no default-domain opset is imported; re-export it");
        if (opset < MinOpset || opset > MaxOpset)
            throw new NotSupportedException($"{Source}: opset {opset} is not supported; re-export with opset_version between {MinOpset} and {MaxOpset}");
        Opset = opset;
        if (g.Node.Count == 0 && g.Output.Count == 0) throw new InvalidDataException($"{Source}: the graph is empty; re-export it");

        foreach (var t in g.Initializer)
        {
            if (string.IsNullOrEmpty(t.Name)) throw new InvalidDataException($"{Source}: an initializer has no name");
            if (_inits.ContainsKey(t.Name)) throw new InvalidDataException($"{Source}: initializer '{t.Name}' appears twice");
            _inits[t.Name] = OnnxTensors.Read(t, $"{Source}: initializer '{t.Name}'", BaseDir);
            _initOrder.Add(t.Name);
        }
        Inputs = g.Input.Where(v => !_inits.ContainsKey(v.Name)).Select(v => Info(v, "input")).ToList();
        Outputs = g.Output.Select(v => Info(v, "output")).ToList();
        if (Outputs.Count == 0) throw new InvalidDataException($"{Source}: the graph has no outputs");

        // Every node input must be defined before use (nodes are topologically sorted in valid ONNX).
        var defined = new HashSet<string>(_inits.Keys) { "" };
        foreach (var v in Inputs) defined.Add(v.Name);
        foreach (var n in g.Node)
        {
            if (string.IsNullOrEmpty(n.OpType)) throw new InvalidDataException($"{Source}: node '{n.Name}' has no op_type");
            foreach (var i in n.Input)
                if (!defined.Contains(i)) throw new InvalidDataException($"{Source}: node '{NodeLabel(n)}' ({n.OpType}) reads '{i}', which no earlier node, input or initializer defines");
            foreach (var a in n.Attribute)
            {
                if (a.T is not null) OnnxTensors.Read(a.T, $"{Source}: node '{NodeLabel(n)}' attribute '{a.Name}'", BaseDir);
                if (a.G is not null || a.Graphs.Count > 0)
                    throw new NotSupportedException($"{Source}: node '{NodeLabel(n)}' ({n.OpType}) has a subgraph; control flow (If/Loop/Scan) is not supported");
            }
            foreach (var o in n.Output) if (o.Length > 0) defined.Add(o);
        }
        foreach (var o in Outputs)
            if (!defined.Contains(o.Name)) throw new InvalidDataException($"{Source}: output '{o.Name}' is not produced by any node");
    }

    /// <summary>A node's name for messages (its outputs when unnamed).</summary>
    public static string NodeLabel(NodeProto n) => n.Name.Length > 0 ? n.Name : n.OpType + "->" + string.Join(",", n.Output);

    private OnnxValueInfo Info(ValueInfoProto v, string kind)
    {
        if (string.IsNullOrEmpty(v.Name)) throw new InvalidDataException($"{Source}: a graph {kind} has no name");
        var tt = v.Type?.TensorType;
        if (v.Type is not null && v.Type.ValueCase is not (TypeProto.ValueOneofCase.TensorType or TypeProto.ValueOneofCase.None))
            throw new NotSupportedException($"{Source}: graph {kind} '{v.Name}' is a {v.Type.ValueCase}, only tensors are supported");
        if (tt is null) throw new InvalidDataException($"{Source}: graph {kind} '{v.Name}' has no tensor type");
        var dtype = OnnxTensors.ToDType(tt.ElemType, $"{Source}: graph {kind} '{v.Name}'");
        if (tt.Shape is null) return new OnnxValueInfo(v.Name, dtype, null, null);
        var dims = new int?[tt.Shape.Dim.Count];
        var names = new string?[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            var d = tt.Shape.Dim[i];
            if (d.ValueCase == Dimension.ValueOneofCase.DimValue)
            {
                if (d.DimValue < 0 || d.DimValue > int.MaxValue) throw new InvalidDataException($"{Source}: graph {kind} '{v.Name}' has invalid dimension {d.DimValue}");
                dims[i] = (int)d.DimValue;
            }
            else if (d.ValueCase == Dimension.ValueOneofCase.DimParam) names[i] = d.DimParam;
        }
        return new OnnxValueInfo(v.Name, dtype, dims, names);
    }

    /// <summary>
    /// Checks concrete input tensors against the declared inputs: every input given once, no unknown names, same
    /// dtype and rank, fixed dims equal and each symbolic dim the same size wherever it appears. Messages name
    /// the expected and the given.
    /// </summary>
    public void CheckInputs(IReadOnlyDictionary<string, (DType DType, Shape Shape)> given)
    {
        foreach (var name in given.Keys)
            if (Inputs.All(i => i.Name != name))
                throw new ArgumentException($"{Source} has no input '{name}'; its inputs are: {string.Join(", ", Inputs.Select(i => $"{i.Name} ({i})"))}");
        var sym = new Dictionary<string, (int Size, string Where)>();
        foreach (var i in Inputs)
        {
            if (!given.TryGetValue(i.Name, out var g))
                throw new ArgumentException($"input '{i.Name}' ({i}) of {Source} is not given; pass --input {i.Name}=FILE.npy");
            if (g.DType != i.DType)
                throw new ArgumentException($"input '{i.Name}' must be {i.DType.ShortName()} ({i}), the given array is {g.DType.ShortName()}{g.Shape}");
            if (i.Dims is null) continue;
            if (i.Dims.Length != g.Shape.Rank)
                throw new ArgumentException($"input '{i.Name}' must have rank {i.Dims.Length} ({i}), the given array has shape {g.Shape}");
            for (int d = 0; d < i.Dims.Length; d++)
            {
                if (i.Dims[d] is int fixedSize && fixedSize != g.Shape[d])
                    throw new ArgumentException($"input '{i.Name}' must have shape {i} (dim {d} = {fixedSize}), the given array has shape {g.Shape}");
                if (i.DimNames![d] is { Length: > 0 } s)
                {
                    if (sym.TryGetValue(s, out var prev) && prev.Size != g.Shape[d])
                        throw new ArgumentException($"dimension '{s}' is {prev.Size} in {prev.Where} but {g.Shape[d]} in input '{i.Name}' (shape {g.Shape}); they must agree");
                    sym[s] = (g.Shape[d], $"input '{i.Name}'");
                }
            }
        }
    }

    /// <summary>Names of floating-point initializers: the model's trainable parameters.</summary>
    public IEnumerable<string> FloatInitializerNames => _initOrder.Where(n => _inits[n].DType.IsFloating());

    /// <summary>
    /// A copy of the model with the given initializers replaced (same dtype and shape), every initializer stored
    /// inline, written to <paramref name="path"/> atomically (temp file, then rename).
    /// </summary>
    public void Save(string path, IReadOnlyDictionary<string, DenseTensor>? replace = null)
    {
        var copy = Proto.Clone();
        foreach (var t in copy.Graph.Initializer)
        {
            var data = replace is not null && replace.TryGetValue(t.Name, out var r) ? r : _inits[t.Name];
            var old = _inits[t.Name];
            if (data.DType != old.DType || data.Shape != old.Shape)
                throw new ArgumentException($"weights for '{t.Name}' are {data.DType.ShortName()}{data.Shape}, the model's initializer is {old.DType.ShortName()}{old.Shape}");
            if (replace is not null && replace.ContainsKey(t.Name))
            {
                if (t.DataType != OnnxTensors.FromDType(data.DType))
                    throw new NotSupportedException($"initializer '{t.Name}' is {OnnxTensors.Name(t.DataType)} in {Source}; only float32, float16 and bfloat16 initializers can be written back");
                OnnxTensors.Write(data, t);
            }
            else if (t.DataLocation == 1) OnnxTensors.Inline(t, $"{Source}: initializer '{t.Name}'", BaseDir);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, copy.WriteTo);
    }
}
