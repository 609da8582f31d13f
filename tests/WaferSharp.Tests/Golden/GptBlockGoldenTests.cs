using System.Text.Json;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.Golden;

/// <summary>The GPT-2 block against PyTorch (fixture from tools/golden/models.py): eager forward, and traced forward + autodiff.</summary>
public class GptBlockGoldenTests
{
    private sealed record Fixture(Dictionary<string, DenseTensor> Data, int C, int Heads, double Eps, double Tol, string[] ParamNames);

    private static Fixture Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestUtil.Fixture("golden", "gpt_block.json")));
        var root = doc.RootElement;
        var cfg = root.GetProperty("config");
        var data = new Dictionary<string, DenseTensor>(Npz.Read(TestUtil.Fixture("golden", "gpt_block.npz")));
        return new Fixture(data, cfg.GetProperty("C").GetInt32(), cfg.GetProperty("heads").GetInt32(), cfg.GetProperty("eps").GetDouble(),
            root.GetProperty("tol").GetDouble(), root.GetProperty("param_names").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    private static Block BuildBlock(Fixture f)
    {
        var block = new Block(f.C, f.Heads, eps: f.Eps);
        var state = f.Data.Where(kv => kv.Key.StartsWith("param.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["param.".Length..], kv => kv.Value);
        block.LoadStateDict(state); // strict: names and shapes must match the PyTorch module exactly
        return block;
    }

    [Fact]
    public void ParameterNamesMatchPyTorch()
    {
        var f = Load();
        var block = new Block(f.C, f.Heads, eps: f.Eps);
        Assert.Equal(f.ParamNames, block.NamedParameters().Select(p => p.Name).ToArray());
    }

    [Fact]
    public void EagerForwardMatches()
    {
        var f = Load();
        var block = BuildBlock(f);
        var y = block.Forward(new Tensor(f.Data["x"]));
        TestUtil.AssertClose(f.Data["out"], y.Data, f.Tol, "gpt_block out (eager)");
    }

    [Fact]
    public void TracedForwardAndGradientsMatch()
    {
        var f = Load();
        var block = BuildBlock(f);
        var named = block.NamedParameters().ToList();
        global::WaferSharp.Graph.Graph g;
        Value[] grads;
        using (var tr = new Tracer(Tracer.NamesOf(block)))
        {
            foreach (var (_, p) in named) tr.Declare(p);
            var x = tr.Input("x", new TensorType(DType.Float32, f.Data["x"].Shape));
            var gout = tr.Input("gout", new TensorType(DType.Float32, f.Data["gout"].Shape));
            var y = block.Forward(x);
            var loss = F.Sum(y * gout);
            var b = tr.Builder;
            b.Output("out", tr.ValueOf(y));
            var wrt = new List<Value> { tr.ValueOf(x) };
            wrt.AddRange(named.Select(p => tr.ValueOf(p.Parameter)));
            grads = Autodiff.Grad(b, tr.ValueOf(loss), wrt);
            b.Output("grad.x", grads[0]);
            for (int i = 0; i < named.Count; i++) b.Output("grad." + named[i].Name, grads[i + 1]);
            g = tr.Graph;
        }
        g.Validate();
        Assert.Equal(named.Count, g.Parameters.Count);
        var feeds = new Dictionary<Value, DenseTensor>();
        foreach (var v in g.Inputs) feeds[v] = f.Data[v.Name!];
        foreach (var v in g.Parameters) feeds[v] = f.Data["param." + v.Name];
        var r = new CpuExecutor(g).Run(feeds);

        TestUtil.AssertClose(f.Data["out"], r.Outputs["out"], f.Tol, "gpt_block out (traced)");
        TestUtil.AssertClose(f.Data["grad.x"], r.Outputs["grad.x"], f.Tol, "grad.x");
        foreach (var (name, _) in named)
            TestUtil.AssertClose(f.Data["grad." + name], r.Outputs["grad." + name], f.Tol, "grad." + name);
    }
}
