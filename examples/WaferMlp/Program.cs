// The reference example (MLP 4096 → 8192 → 4096 with GELU and AdamW) on a simulated WSE-3. Only the device line
// differs from the CPU version: the wafer runtime registers "wse3", and the Trainer compiles the traced step once
// and reports the device's time next to the host's.
//
//   dotnet run --project examples/WaferMlp                 # the reference size (67M parameters; slow on a laptop CPU)
//   dotnet run --project examples/WaferMlp -- --dim 256    # the same program at 256 → 512 → 256 (a quick smoke run)
//   options: --dim D  --steps N  --batch-size B  --device wse3|wse2|mesh:WxH  --systems N  --precision fp32|bf16|fp16
using System.Globalization;
using WaferSharp;
using WaferSharp.Runtime;
using WaferSharp.Tensors;
using WaferSharp.Training;

string Opt(string name, string dflt) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
int dim = int.Parse(Opt("--dim", "4096"), CultureInfo.InvariantCulture);
int steps = int.Parse(Opt("--steps", "5"), CultureInfo.InvariantCulture);
int batch = int.Parse(Opt("--batch-size", "8"), CultureInfo.InvariantCulture);
string device = Opt("--device", "wse3");
int systems = int.Parse(Opt("--systems", "1"), CultureInfo.InvariantCulture);
string precision = Opt("--precision", "fp32");

WaferRuntime.Register();
Generator.Default.ManualSeed(0);
// One batch of random inputs and targets, seen every step: the loss must fall as the model fits it.
var x = DenseTensor.Zeros(batch, dim); Generator.Default.FillNormal(x.AsFloat(), 0, 1);
var y = DenseTensor.Zeros(batch, dim); Generator.Default.FillNormal(y.AsFloat(), 0, 1);
var trainLoader = new DataLoader(x, y, batchSize: batch);

var model = new MyModel(dim);
var optimizer = new AdamW(model.Parameters(), lr: 3e-4);
var trainer = new Trainer(model, optimizer, new TrainerConfig
{
    Device = device, Systems = systems, Precision = precision, MaxSteps = steps, Progress = "lines", LogEvery = 1,
});
Console.WriteLine($"MLP {dim}→{2 * dim}→{dim} ({model.ParameterCount():N0} parameters), AdamW, batch {batch}, {steps} steps on {device} x{systems} ({precision})");
StepMetrics? last = null;
trainer.StepCompleted += m => last = m;
var result = trainer.Fit(trainLoader);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"loss {result.Losses[0]:F4} -> {result.FinalLoss:F4}; device step {last!.Device.DeviceSeconds * 1e3:F4} ms ({last.Device.Mode}), {last.DeviceSamplesPerSecond:N0} samples/s, {last.DeviceTflops:F2} TFLOP/s ({last.PercentOfPeak:F2}% of peak); host {last.HostSeconds * 1e3:F1} ms/step"));
return result.FinalLoss < result.Losses[0] ? 0 : 1;

/// <summary>The reference model: Linear(dim, 2·dim) → GELU → Linear(2·dim, dim).</summary>
internal sealed class MyModel(int dim) : Module
{
    private readonly Sequential layers = new(new Linear(dim, 2 * dim), new GELU(), new Linear(2 * dim, dim));
    public override Tensor Forward(Tensor x) => layers.Forward(x);
}
