using WaferSharp.Fabric;
using WaferSharp.Fabric.Kernels;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Fabric;

/// <summary>The one Adam program in its IR-order sequence against the IR's AdamUpdate.</summary>
public class AdamProgramTests
{
    [Fact]
    public void TheIrOrderSequenceIsBitEqualToTheCpuAdamUpdate()
    {
        int n = 203;
        float[] p = FabricTestUtil.Random(n, 51), g = FabricTestUtil.Random(n, 52), m = FabricTestUtil.Random(n, 53, -0.1f, 0.1f), v = FabricTestUtil.Random(n, 54, 0, 0.01f);
        float decay = 0.999f, stepSize = 0.0123f, bc2 = 0.0447f;
        var attrs = Attrs.Of(("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8), ("l2", 0.0));
        var ins = new[] { p, g, m, v }.Select(a => DenseTensor.FromArray(a, n)).Concat([DenseTensor.Scalar(decay), DenseTensor.Scalar(stepSize), DenseTensor.Scalar(bc2)]).ToArray();
        var t = new TensorType(DType.Float32, new Shape(n));
        var want = OpRegistry.Get("AdamUpdate").Execute(ins, attrs, [t, t, t]);
        var run = AdamProgram.Run(new FabricSimulator(WaferSpec.Mesh(4, 4)), new Region(0, 0, 4, 4), p, g, m, v,
            AdamUpdateConstants.Of(0.9, 0.999, 1e-8f, decay, stepSize, bc2));
        for (int k = 0; k < 3; k++) Assert.Equal(want[k].AsFloat().ToArray(), run.Output.AsSpan(k * n, n).ToArray());
        Assert.True(run.Cycles > 0);
    }
}
