using WaferSharp.Graph;

namespace WaferSharp;

/// <summary>torch.nn.Sequential: children named "0", "1", … applied in order.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = new();

    /// <summary>Creates the container.</summary>
    public Sequential(params Module[] layers)
    {
        for (int i = 0; i < layers.Length; i++) _layers.Add(RegisterModule(i.ToString(), layers[i]));
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;
    /// <summary>Layer i.</summary>
    public Module this[int i] => _layers[i];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        foreach (var l in _layers) x = l.Forward(x);
        return x;
    }
}

/// <summary>torch.nn.ModuleList: an indexed list of children named "0", "1", ….</summary>
public sealed class ModuleList : Module, IEnumerable<Module>
{
    private readonly List<Module> _items = new();

    /// <summary>Creates the list.</summary>
    public ModuleList(IEnumerable<Module> items) { foreach (var m in items) Append(m); }

    /// <summary>Adds a module.</summary>
    public void Append(Module m) => _items.Add(RegisterModule(_items.Count.ToString(), m));
    /// <summary>Count.</summary>
    public int Count => _items.Count;
    /// <summary>Item i.</summary>
    public Module this[int i] => _items[i];
    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
