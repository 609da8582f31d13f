using System.Reflection;

namespace WaferSharp.Tests.Architecture;

/// <summary>The pipeline is the project layout: lower layers never reference higher ones.</summary>
public class LayeringTests
{
    // Each assembly with the WaferSharp assemblies it may reference.
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["WaferSharp.Tensors"] = [],
        ["WaferSharp.Graph"] = ["WaferSharp.Tensors"],
        ["WaferSharp.Frontend"] = ["WaferSharp.Tensors", "WaferSharp.Graph"],
        ["WaferSharp.Training"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Frontend"],
        ["WaferSharp.Zoo"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Frontend"],
        ["WaferSharp.Hardware"] = ["WaferSharp.Tensors"],
        ["WaferSharp.Compiler"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Hardware"],
        ["WaferSharp.Gpu"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Frontend", "WaferSharp.Zoo"],
        ["WaferSharp.Onnx"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Frontend"],
        ["WaferSharp.Fabric"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Hardware", "WaferSharp.Compiler"],
        ["WaferSharp.Reports"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Frontend", "WaferSharp.Zoo", "WaferSharp.Hardware", "WaferSharp.Compiler", "WaferSharp.Gpu", "WaferSharp.Training", "WaferSharp.Onnx"],
        ["WaferSharp.Runtime"] = ["WaferSharp.Tensors", "WaferSharp.Graph", "WaferSharp.Frontend", "WaferSharp.Training", "WaferSharp.Hardware", "WaferSharp.Compiler", "WaferSharp.Zoo", "WaferSharp.Fabric"],
    };

    [Theory]
    [InlineData("WaferSharp.Tensors")]
    [InlineData("WaferSharp.Graph")]
    [InlineData("WaferSharp.Frontend")]
    [InlineData("WaferSharp.Training")]
    [InlineData("WaferSharp.Zoo")]
    [InlineData("WaferSharp.Hardware")]
    [InlineData("WaferSharp.Compiler")]
    [InlineData("WaferSharp.Gpu")]
    [InlineData("WaferSharp.Onnx")]
    [InlineData("WaferSharp.Fabric")]
    [InlineData("WaferSharp.Reports")]
    [InlineData("WaferSharp.Runtime")]
    public void ReferencesOnlyLowerLayers(string assembly)
    {
        var asm = Assembly.Load(assembly);
        var refs = asm.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("WaferSharp", StringComparison.Ordinal)).ToList();
        var bad = refs.Except(Allowed[assembly]).ToList();
        Assert.True(bad.Count == 0, $"{assembly} references higher layers: {string.Join(", ", bad)}");
    }
}
