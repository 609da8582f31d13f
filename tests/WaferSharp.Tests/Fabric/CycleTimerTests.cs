using WaferSharp.Runtime;
using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Tests.Fabric;

/// <summary><c>--fidelity cycle</c> through the fabric simulator (the cycle timer is process-wide: runs with the runtime CLI tests).</summary>
[Collection("RuntimeCli")]
public class CycleTimerTests
{
    static CycleTimerTests() => WaferRuntime.Register();

    private sealed class Mlp(int d, int h) : Module
    {
        private readonly Sequential layers = new(new WaferSharp.Linear(d, h), new GELU(), new WaferSharp.Linear(h, d));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    [Fact]
    public void RegisterInstallsTheFabricTimerAndCycleFidelityTrainsWithSimulatedDeviceTime()
    {
        var saved = WaferRuntime.CycleTimer;
        try
        {
            Assert.IsType<FabricCycleTimer>(WaferRuntime.CycleTimer);
            var timer = new FabricCycleTimer();
            WaferRuntime.RegisterCycleTimer(timer);
            var g = new Generator(5);
            var x = DenseTensor.Zeros(16, 8); g.FillNormal(x.AsFloat(), 0, 1);
            var y = DenseTensor.Zeros(16, 8); g.FillNormal(y.AsFloat(), 0, 1);
            Module fast, cycle;
            lock (Generator.Default) { Generator.Default.ManualSeed(9); fast = new Mlp(8, 16); Generator.Default.ManualSeed(9); cycle = new Mlp(8, 16); }
            var rf = new Trainer(fast, new AdamW(fast.Parameters()), new TrainerConfig { Device = "mesh:32x32", MaxSteps = 2, Progress = "none" }).Fit(new DataLoader(x, y, 8));
            var ms = new List<StepMetrics>();
            var tc = new Trainer(cycle, new AdamW(cycle.Parameters()), new TrainerConfig { Device = "mesh:32x32", Fidelity = "cycle", MaxSteps = 2, Progress = "none" });
            tc.StepCompleted += ms.Add;
            var rc = tc.Fit(new DataLoader(x, y, 8));
            Assert.Equal(rf.Losses, rc.Losses); // numerics are the CPU executor's in both fidelities
            var run = Assert.IsType<WaferSharp.Fabric.Programs.ProgramRun>(timer.LastRun);
            Assert.True(run.Cycles > 0);
            Assert.Equal(run.Cycles / WaferSharp.Hardware.WaferSpec.Mesh(32, 32).ClockHz, ms[^1].Device.DeviceSeconds!.Value, 12);
            Assert.EndsWith("(cycle)", ms[^1].Device.Mode);
        }
        finally { WaferRuntime.RegisterCycleTimer(saved); }
    }
}
