using WaferSharp.Compiler;
using WaferSharp.Graph;
using WaferSharp.Hardware;
using WaferSharp.Runtime;
using WaferSharp.Tensors;
using WaferSharp.Training;
using static WaferSharp.Tests.Runtime.RuntimeTestModels;

namespace WaferSharp.Tests.Runtime;

/// <summary>The <c>--fidelity cycle</c> hook (the cycle timer is process-wide, so these run with the CLI tests, not in parallel).</summary>
[Collection("RuntimeCli")]
public class CycleFidelityTests
{
    static CycleFidelityTests() => WaferRuntime.Register();

    private sealed class FixedTimer(double cycles) : ICycleTimer
    {
        public int Calls;
        public CycleTiming Time(WaferProgram program, WaferSharp.Graph.Graph graph, WaferSpec wafer)
        {
            Calls++;
            Assert.Equal(wafer.Name, program.Device);
            return new CycleTiming(cycles, cycles / wafer.ClockHz, program.Mode + " (cycle)");
        }
    }

    private static WaferSharp.Graph.Graph Step()
    {
        var model = new Mlp(4, 8);
        var xt = new TensorType(DType.Float32, new Shape(2, 4));
        return TrainStep.Build(model, new AdamW(model.Parameters()), (m, a, b) => F.MseLoss(m.Forward(a), b), xt, xt).Graph;
    }

    [Fact]
    public void CycleFidelityNeedsAMeshDeviceAndARegisteredSimulator()
    {
        var saved = WaferRuntime.CycleTimer;
        try
        {
            WaferRuntime.RegisterCycleTimer(null);
            var g = Step();
            var e1 = Assert.Throws<ArgumentException>(() => Devices.Create("wse3", g, new DeviceContext { Fidelity = "cycle" }));
            Assert.Contains("mesh:WxH", e1.Message);
            var e2 = Assert.Throws<ArgumentException>(() => Devices.Create("mesh:8x8", g, new DeviceContext { Fidelity = "cycle" }));
            Assert.Contains("not registered", e2.Message);
            Assert.DoesNotContain('\n', e2.Message);
            var e3 = Assert.Throws<ArgumentException>(() => Devices.Create("cpu", g, new DeviceContext { Precision = "bf16" }));
            Assert.Contains("fp32 only", e3.Message);
        }
        finally { WaferRuntime.RegisterCycleTimer(saved); }
    }

    [Fact]
    public void ARegisteredCycleTimerTimesMeshSteps()
    {
        var saved = WaferRuntime.CycleTimer;
        var timer = new FixedTimer(123_456);
        try
        {
            WaferRuntime.RegisterCycleTimer(timer);
            var (x, y) = Regression(16, 4, 13);
            var fast = new Mlp(4, 8);
            var cycle = Twin(fast, new Mlp(4, 8));
            var ms = new List<StepMetrics>();
            var rf = new Trainer(fast, new AdamW(fast.Parameters()), new TrainerConfig { Device = "mesh:16x16", MaxSteps = 3, Progress = "none" }).Fit(new DataLoader(x, y, 4));
            var tc = new Trainer(cycle, new AdamW(cycle.Parameters()), new TrainerConfig { Device = "mesh:16x16", MaxSteps = 3, Progress = "none", Fidelity = "cycle" });
            tc.StepCompleted += ms.Add;
            var rc = tc.Fit(new DataLoader(x, y, 4));
            Assert.Equal(rf.Losses, rc.Losses); // numerics never depend on the timing fidelity
            Assert.Equal(1, timer.Calls);       // simulated once per compiled program, not per step
            Assert.Equal(123_456 / WaferSpec.Mesh(16, 16).ClockHz, ms[^1].Device.DeviceSeconds!.Value, 15);
            Assert.EndsWith("(cycle)", ms[^1].Device.Mode);
        }
        finally { WaferRuntime.RegisterCycleTimer(saved); }
    }
}
