using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Graph;

/// <summary>bf16/f16 tensors are stored in 16 bits and computed in float32.</summary>
public class LowPrecisionTests
{
    [Theory]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Float16)]
    public void LinearGeluRunsIn16BitStorageWithFloat32Math(DType dt)
    {
        var x = DenseTensor.Zeros(4, 8); Generator.Default.FillNormal(x.AsFloat(), 0, 1);
        var w = DenseTensor.Zeros(5, 8); Generator.Default.FillNormal(w.AsFloat(), 0, 0.3f);
        var b = new GraphBuilder();
        var xv = b.Input("x", new TensorType(dt, x.Shape));
        var wv = b.Parameter("w", new TensorType(dt, w.Shape));
        var y = b.Op("Gelu", b.Op("Linear", xv, wv));
        b.Output("y", y);
        var grads = Autodiff.Grad(b, b.ReduceSum(y, [0, 1], false), [wv]);
        b.Output("gw", grads[0]);
        var r = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor> { [xv] = x.To(dt), [wv] = w.To(dt) });
        Assert.Equal(dt, r.Outputs["y"].DType);
        Assert.Equal(dt, r.Outputs["gw"].DType);
        // Reference: the same math in float32 on the rounded inputs, rounded once at the end.
        var xr = x.To(dt).To(DType.Float32); var wr = w.To(dt).To(DType.Float32);
        var b2 = new GraphBuilder();
        var x2 = b2.Input("x", new TensorType(DType.Float32, x.Shape)); var w2 = b2.Input("w", new TensorType(DType.Float32, w.Shape));
        b2.Output("y", b2.Op("Gelu", b2.Op("Linear", x2, w2)));
        var ref32 = new CpuExecutor(b2.Graph).Run(new Dictionary<Value, DenseTensor> { [x2] = xr, [w2] = wr }).Outputs["y"];
        var refRounded = ref32.To(dt).To(DType.Float32);
        var got = r.Outputs["y"].To(DType.Float32);
        TestUtil.AssertClose(refRounded, got, dt == DType.BFloat16 ? 1e-2 : 2e-3, "y");
    }

    [Fact]
    public void BFloat16RoundsToNearestEven()
    {
        Assert.Equal(0x3F80, Float16Bits.ToBFloat16(1.0f));
        Assert.Equal(0x3F80, Float16Bits.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000))); // tie → even
        Assert.Equal(0x3F82, Float16Bits.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000))); // tie → even (up)
        Assert.True(float.IsNaN(Float16Bits.FromBFloat16(Float16Bits.ToBFloat16(float.NaN))));
    }
}
