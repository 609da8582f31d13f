using System.Text.Json;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Tests.Golden;

/// <summary>Every op's forward output and input gradients against PyTorch (fixtures from tools/golden/ops_cases.py).</summary>
public class GoldenOpTests
{
    public static IEnumerable<object[]> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestUtil.Fixture("golden", "ops.json")));
        foreach (var c in doc.RootElement.EnumerateArray()) yield return [c.GetProperty("name").GetString()!];
    }

    internal static Attrs ParseAttrs(JsonElement e)
    {
        var pairs = new List<(string, object?)>();
        foreach (var p in e.EnumerateObject())
        {
            object? v = p.Value.ValueKind switch
            {
                JsonValueKind.Number when p.Value.TryGetInt64(out var l) && !p.Value.GetRawText().Contains('.') && !p.Value.GetRawText().Contains('e') => l,
                JsonValueKind.Number => p.Value.GetDouble(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Array => p.Value.EnumerateArray().All(x => x.TryGetInt64(out _) && !x.GetRawText().Contains('.'))
                    ? p.Value.EnumerateArray().Select(x => x.GetInt64()).ToArray()
                    : p.Value.EnumerateArray().Select(x => x.GetDouble()).ToArray(),
                _ => null,
            };
            pairs.Add((p.Name, v));
        }
        return Attrs.Of(pairs.ToArray());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestUtil.Fixture("golden", "ops.json")));
        var c = doc.RootElement.EnumerateArray().First(x => x.GetProperty("name").GetString() == name);
        var data = Npz.Read(TestUtil.Fixture("golden", "ops", name + ".npz"));
        string op = c.GetProperty("op").GetString()!;
        var attrs = ParseAttrs(c.GetProperty("attrs"));
        double tol = c.GetProperty("tol").GetDouble();
        var gradIdx = c.GetProperty("grad_inputs").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var inputNames = c.GetProperty("inputs").EnumerateArray().Select(x => x.GetString()!).ToArray();

        var b = new GraphBuilder();
        var ins = inputNames.Select(n => b.Input(n, new TensorType(data[n].DType, data[n].Shape))).ToArray();
        // Ops may have extra outputs the fixture does not hold (Dropout's mask): compare those it has.
        var allOuts = GoldenOps.Emit(b, op, attrs, ins);
        var outs = allOuts.Where((_, i) => data.ContainsKey("out" + i)).ToArray();
        for (int i = 0; i < outs.Length; i++) b.Output("out" + i, outs[i]);
        Value[] grads = [];
        if (gradIdx.Length > 0)
        {
            // loss = Σ_j sum(out_j * gout_j): its gradient w.r.t. in_i is what the fixture holds.
            Value? loss = null;
            for (int j = 0; j < outs.Length; j++)
            {
                var gout = b.Input("gout" + j, outs[j].Type);
                var term = b.ReduceSum(b.Mul(outs[j], gout), Enumerable.Range(0, outs[j].Rank).ToArray(), false);
                loss = loss is null ? term : b.Add(loss, term);
            }
            grads = Autodiff.Grad(b, loss!, gradIdx.Select(i => ins[i]).ToArray());
            for (int k = 0; k < grads.Length; k++) b.Output("gin" + gradIdx[k], grads[k]);
        }
        b.Graph.Validate();
        var feeds = b.Graph.Inputs.ToDictionary(v => v, v => data[v.Name!]);
        var r = new CpuExecutor(b.Graph).Run(feeds);
        for (int i = 0; i < outs.Length; i++)
        {
            var expect = data["out" + i];
            var got = r.Outputs["out" + i];
            if (expect.DType is DType.Bool or DType.Int64 or DType.Int32)
            {
                Assert.Equal(expect.DType, got.DType);
                Assert.True(expect.BitEquals(got), $"{name}: out{i} differs");
            }
            else TestUtil.AssertClose(expect, got, tol, $"{name}: out{i}");
        }
        foreach (var gi in gradIdx)
            TestUtil.AssertClose(data["gin" + gi], r.Outputs["gin" + gi], tol, $"{name}: gin{gi}");
    }
}

/// <summary>Maps a fixture's op name to graph ops: registered ops directly, composite ops through their builder.</summary>
public static class GoldenOps
{
    public static Value[] Emit(GraphBuilder b, string op, Attrs attrs, Value[] ins) => op switch
    {
        "ScaledDotProductAttention" => [Composites.ScaledDotProductAttention(b, ins[0], ins[1], ins[2],
            attrs.GetBool("causal", false), attrs.Has("scale") ? attrs.GetDouble("scale") : null)],
        _ => b.Emit(op, attrs, ins),
    };
}
