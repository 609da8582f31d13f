using System.Reflection;
using WaferSharp.Graph;
using WaferSharp.Tensors;

namespace WaferSharp;

/// <summary>
/// Base of all layers and models, as torch.nn.Module: override <see cref="Forward(Tensor)"/>; child modules
/// and parameters held in fields are found automatically (in declaration order) and named after the field,
/// or registered explicitly with <see cref="RegisterModule{T}"/> / <see cref="RegisterParameter"/>.
/// </summary>
public abstract class Module
{
    private List<(string Name, object Item)>? _members;
    private readonly List<(string Name, object Item)> _registered = new();

    private Module? _parent;
    private string _name = "";

    /// <summary>
    /// Links child modules that field initializers already created (C# runs them before this constructor),
    /// so error messages can name a layer by its path even before anything enumerated the model.
    /// </summary>
    protected Module()
    {
        for (var t = GetType(); t is not null && t != typeof(Module); t = t.BaseType)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (f.GetValue(this) is Module m && m._parent is null && !ReferenceEquals(m, this)) { m._parent = this; m._name = FieldName(f.Name); }
    }

    /// <summary>Full dotted path from the root model (e.g. "h.3.attn"); "" at the root.</summary>
    public string Path => _parent is null ? "" : _parent.Path.Length == 0 ? _name : _parent.Path + "." + _name;

    /// <summary>True in training mode (dropout active).</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>The forward pass for one input.</summary>
    public virtual Tensor Forward(Tensor x) =>
        throw new NotImplementedException($"{GetType().Name} does not implement Forward(Tensor)");

    /// <summary>The forward pass for two inputs (e.g. tokens and targets).</summary>
    public virtual Tensor Forward(Tensor x, Tensor y) =>
        throw new NotImplementedException($"{GetType().Name} does not implement Forward(Tensor, Tensor)");

    /// <summary>Sets training mode on this module and all children (returns this).</summary>
    public Module Train(bool mode = true)
    {
        IsTraining = mode;
        foreach (var (_, m) in NamedChildren()) m.Train(mode);
        return this;
    }

    /// <summary>Sets evaluation mode (returns this).</summary>
    public Module Eval() => Train(false);

    /// <summary>Registers a child module under a name (returns it, for field initializers).</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        _registered.Add((name, module)); _members = null;
        if (!ReferenceEquals(module, this)) { module._parent = this; module._name = name; }
        return module;
    }

    /// <summary>Registers a parameter under a name (returns it).</summary>
    protected Parameter RegisterParameter(string name, Parameter p)
    {
        _registered.Add((name, p)); _members = null; return p;
    }

    private List<(string Name, object Item)> Members()
    {
        if (_members is not null) return _members;
        var list = new List<(string, object)>(_registered);
        var seen = new HashSet<object>(_registered.Select(r => r.Item), ReferenceEqualityComparer.Instance);
        var chain = new Stack<Type>();
        for (var t = GetType(); t is not null && t != typeof(Module); t = t.BaseType) chain.Push(t);
        foreach (var t in chain)
        {
            var fields = t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .OrderBy(f => f.MetadataToken);
            foreach (var f in fields)
            {
                var val = f.GetValue(this);
                string name = FieldName(f.Name);
                if (val is Module or Parameter)
                {
                    if (seen.Add(val)) list.Add((name, val));
                }
                else if (val is IEnumerable<Module> ms and not Module)
                {
                    int i = 0;
                    foreach (var m in ms) { if (seen.Add(m)) list.Add(($"{name}.{i}", m)); i++; }
                }
            }
        }
        _members = list;
        foreach (var (n, item) in list)
            if (item is Module m && (m._parent is null || ReferenceEquals(m._parent, this))) { m._parent = this; m._name = n; }
        return list;
    }

    private static string FieldName(string f)
    {
        if (f.StartsWith('<')) f = f[1..f.IndexOf('>')]; // auto-property backing field
        return f.TrimStart('_');
    }

    /// <summary>Direct children, named.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() =>
        Members().Where(m => m.Item is Module).Select(m => (m.Name, (Module)m.Item));

    /// <summary>All modules below and including this one, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, m) in NamedChildren())
            foreach (var x in m.NamedModules(prefix.Length == 0 ? n : prefix + "." + n)) yield return x;
    }

    /// <summary>All parameters with dotted names ("layers.0.weight"), each once even when shared (tied weights).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        var seen = new HashSet<Parameter>((IEqualityComparer<Parameter>)ReferenceEqualityComparer.Instance);
        foreach (var x in NamedParametersRec("")) if (seen.Add(x.Parameter)) yield return x;
    }

    private IEnumerable<(string Name, Parameter Parameter)> NamedParametersRec(string prefix)
    {
        foreach (var (n, item) in Members())
        {
            string full = prefix.Length == 0 ? n : prefix + "." + n;
            if (item is Parameter p) yield return (full, p);
            else foreach (var x in ((Module)item).NamedParametersRec(full)) yield return x;
        }
    }

    /// <summary>All parameters (each once).</summary>
    public IReadOnlyList<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    /// <summary>Total number of scalar parameters (exact, also for shape-only models).</summary>
    public long ParameterCount() => NamedParameters().Sum(p => p.Parameter.Numel);

    /// <summary>Parameter data by name (references, not copies).</summary>
    public Dictionary<string, DenseTensor> StateDict() =>
        NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Data);

    /// <summary>
    /// Loads parameter data by name. With <paramref name="strict"/>, missing or unexpected keys are an error
    /// (listed in the message); shapes and dtypes must match.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, DenseTensor> state, bool strict = true)
    {
        var named = NamedParameters().ToList();
        if (strict)
        {
            var missing = named.Select(p => p.Name).Where(n => !state.ContainsKey(n)).ToList();
            var unexpected = state.Keys.Where(k => named.All(p => p.Name != k)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new ArgumentException($"state dict does not match {GetType().Name}: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]");
        }
        foreach (var (n, p) in named)
        {
            if (!state.TryGetValue(n, out var t)) continue;
            if (t.Shape != p.Shape) throw new ArgumentException($"state dict entry '{n}' has shape {t.Shape}, the model expects {p.Shape}");
            p.SetData(t.DType == p.DType ? t.Clone() : t.To(p.DType));
        }
    }

    /// <summary>Enters this module's scope while tracing, so recorded nodes carry the module path.</summary>
    protected IDisposable Scope()
    {
        _ = Members(); // make sure children have paths
        var tr = Tracer.Current;
        if (tr is null) return NoScope.Instance;
        var saved = tr.Builder.Scope;
        tr.Builder.Scope = (Path.Length == 0 ? GetType().Name : Path) + $" ({GetType().Name})";
        return new RestoreScope(tr.Builder, saved);
    }

    /// <summary>Checks the last dim of an input, with a message naming the layer and the shapes.</summary>
    protected void ExpectLastDim(Tensor x, int size, string what)
    {
        if (x.Rank == 0 || x.Shape[-1] != size)
            throw new ShapeException($"{GetType().Name} '{(Path.Length == 0 ? "(root)" : Path)}' ({what}={size}): input has shape {x.Shape}, its last dim must be {size}");
    }

    private sealed class NoScope : IDisposable { public static readonly NoScope Instance = new(); public void Dispose() { } }
    private sealed class RestoreScope(GraphBuilder b, string? saved) : IDisposable { public void Dispose() => b.Scope = saved; }

    /// <summary>A one-line summary: type and parameter count.</summary>
    public override string ToString() => $"{GetType().Name}({ParameterCount():N0} parameters)";
}
