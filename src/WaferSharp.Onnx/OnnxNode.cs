using WaferSharp.Graph;
using WaferSharp.Onnx.Proto;
using WaferSharp.Tensors;

namespace WaferSharp.Onnx;

/// <summary>One ONNX node being imported: its resolved inputs (null for omitted optional ones) and attribute readers.</summary>
internal sealed class OnnxNode
{
    public OnnxNode(NodeProto proto, Value?[] inputs, OnnxImporter.Context ctx)
    {
        Proto = proto; Inputs = inputs; Ctx = ctx;
    }

    public NodeProto Proto { get; }
    public Value?[] Inputs { get; }
    public OnnxImporter.Context Ctx { get; }
    public string Label => OnnxModel.NodeLabel(Proto);
    public string OpType => Proto.OpType;
    public int OutputCount => Proto.Output.Count;

    /// <summary>True when output <paramref name="i"/> exists and is consumed or is a graph output.</summary>
    public bool OutputUsed(int i) => i < Proto.Output.Count && Proto.Output[i].Length > 0 && Ctx.IsUsed(Proto.Output[i]);

    public Value In(int i) => i < Inputs.Length && Inputs[i] is { } v ? v : throw Bad($"input {i} is required");
    public Value? Opt(int i) => i < Inputs.Length ? Inputs[i] : null;

    public InvalidDataException Bad(string msg) => new($"{Ctx.Source}: node '{Label}' ({OpType}): {msg}");

    private AttributeProto? Attr(string name)
    {
        foreach (var a in Proto.Attribute) if (a.Name == name) return a;
        return null;
    }

    public bool Has(string name) => Attr(name) is not null;
    public long Int(string name, long dflt) => Attr(name) is { } a ? a.I : dflt;
    public float Float(string name, float dflt) => Attr(name) is { } a ? a.F : dflt;
    public string Str(string name, string dflt) => Attr(name) is { } a ? a.S.ToStringUtf8() : dflt;
    public long[]? Ints(string name) => Attr(name) is { } a ? a.Ints.ToArray() : null;
    public float[]? Floats(string name) => Attr(name) is { } a ? a.Floats.ToArray() : null;
    public DenseTensor? Tensor(string name) => Attr(name) is { T: { } t } ? OnnxTensors.Read(t, $"{Ctx.Source}: node '{Label}' attribute '{name}'", Ctx.BaseDir) : null;

    /// <summary>The data of a constant input (shapes, axes, slice bounds must be known when importing).</summary>
    public DenseTensor Const(int i, string what)
    {
        var v = In(i);
        if (v.Kind != ValueKind.Constant || v.Data is null)
            throw new NotSupportedException($"{Ctx.Source}: node '{Label}' ({OpType}): its {what} (input {i}) is computed from the model's inputs at run time; WaferSharp needs it to be known when importing (static shapes)");
        return v.Data;
    }

    /// <summary>An integer list from a constant input.</summary>
    public long[] ConstInts(int i, string what)
    {
        var t = Const(i, what);
        return t.DType switch
        {
            DType.Int64 => t.AsInt64().ToArray(),
            DType.Int32 => t.AsInt32().ToArray().Select(x => (long)x).ToArray(),
            _ => throw Bad($"{what} must be an integer tensor, got {t.DType.ShortName()}{t.Shape}"),
        };
    }

    /// <summary>Axes from the input (newer opsets) or the attribute (older); null when neither is given.</summary>
    public long[]? Axes(int inputIndex, string attr = "axes") =>
        Opt(inputIndex) is not null ? ConstInts(inputIndex, "axes") : Ints(attr);
}
