using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Hardware;

public class WaferSpecTests
{
    [Fact]
    public void PresetsHaveTheSdkFabrics()
    {
        var w3 = WaferSpec.Parse("wse3");
        Assert.Equal((762, 1172, 755, 1170, 4, 1), (w3.Width, w3.Height, w3.ProgramWidth, w3.ProgramHeight, w3.ProgramX, w3.ProgramY));
        Assert.Equal(8, w3.SimdWidth(DType.BFloat16));
        Assert.Equal(4, w3.SimdWidth(DType.Float32));
        var w2 = WaferSpec.Parse("WSE2");
        Assert.Equal((757, 996, 750, 994), (w2.Width, w2.Height, w2.ProgramWidth, w2.ProgramHeight));
        Assert.Equal(4, w2.Simd16);
        Assert.Equal(48 * 1024, w3.PeSramBytes);
        Assert.Equal(18, w3.UsableColors);
        // dense fp16 peak = PEs × SIMD × 2 × clock
        Assert.Equal(883_350.0 * 8 * 2 * 0.85e9, w3.PeakFlopsPerSecond(DType.BFloat16), 1e-6);
    }

    [Fact]
    public void MeshPresetsAreWholeFabrics()
    {
        var m = WaferSpec.Parse("mesh:8x4");
        Assert.Equal((8, 4, 8, 4, 0, 0), (m.Width, m.Height, m.ProgramWidth, m.ProgramHeight, m.ProgramX, m.ProgramY));
        var e = Assert.Throws<ArgumentException>(() => WaferSpec.Parse("tpu"));
        Assert.Contains("mesh:WxH", e.Message);
        Assert.Throws<ArgumentException>(() => WaferSpec.Parse("mesh:0x4"));
    }

    [Fact]
    public void ClusterTreeDepthIsLogFanout()
    {
        Assert.Equal(0, ClusterSpec.Of(WaferSpec.Wse3, 1).SwarmStages);
        Assert.Equal(1, ClusterSpec.Of(WaferSpec.Wse3, 4).SwarmStages);
        Assert.Equal(2, ClusterSpec.Of(WaferSpec.Wse3, 16).SwarmStages);
        Assert.Equal(3, ClusterSpec.Of(WaferSpec.Wse3, 17).SwarmStages);
        Assert.Throws<ArgumentException>(() => ClusterSpec.Of(WaferSpec.Wse3, 0));
        Assert.Equal(150e9, SystemSpec.For(WaferSpec.Wse3).IoBytesPerSecond);
    }
}
