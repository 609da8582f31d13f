using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Tensors;

namespace WaferSharp.Tests.Frontend;

public class DropoutTraceTests
{
    [Fact]
    public void TracedDropoutDrawsANewMaskForEachStepSeed()
    {
        var drop = new WaferSharp.Dropout(0.5);
        using var tr = new Tracer();
        var x = tr.Input("x", TensorType.F32(1000));
        tr.Builder.Output("y", tr.ValueOf(drop.Forward(x)));
        var exec = new CpuExecutor(tr.Graph);
        var ones = DenseTensor.Full(new Shape(1000), 1f);
        DenseTensor Run(long seed) => exec.Run(new Dictionary<Value, DenseTensor> { [tr.ValueOf(x)] = ones, [tr.ValueOf(tr.StepSeed)] = DenseTensor.Scalar(seed) }).Outputs["y"];
        var a = Run(1); var b = Run(2); var a2 = Run(1);
        Assert.True(a.BitEquals(a2));
        Assert.False(a.BitEquals(b));
        int kept = a.ToFloatArray().Count(v => v != 0);
        Assert.InRange(kept, 420, 580);
        Assert.All(a.ToFloatArray(), v => Assert.True(v == 0 || v == 2f));
    }

    [Fact]
    public void EvalModeDropoutIsIdentity()
    {
        var drop = new WaferSharp.Dropout(0.5);
        drop.Eval();
        var x = Tensor.Ones(10);
        Assert.Equal(x.ToArray(), drop.Forward(x).ToArray());
    }
}
