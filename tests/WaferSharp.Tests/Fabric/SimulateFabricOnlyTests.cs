using System.Text.Json;

namespace WaferSharp.Tests.Fabric;

/// <summary><c>wafer simulate --json</c> says which nodes (if any) the host computed and what the optimizer took.</summary>
[Collection("RuntimeCli")]
public class SimulateFabricOnlyTests
{
    [Fact]
    public void TheJsonListsNoHostComputedNodeForAnMlpTrainingStep()
    {
        var (code, outText, err) = TestUtil.RunCli("simulate", TestUtil.Fixture("onnx", "mlp_gelu.onnx"), "--device", "mesh:32x32", "--train",
            "--batch-size", "8", "--json", "-");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(outText);
        var r = doc.RootElement;
        Assert.Equal(0, r.GetProperty("host_computed").GetArrayLength());
        Assert.Equal(0, r.GetProperty("charged_routes").GetArrayLength());
        long optimizer = r.GetProperty("optimizer_cycles").GetInt64();
        Assert.True(optimizer > 0 && optimizer < r.GetProperty("cycles").GetInt64());
    }
}
