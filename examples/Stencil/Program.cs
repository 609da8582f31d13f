using WaferSharp.Examples.Stencil;
using WaferSharp.Fabric;
using WaferSharp.Hardware;

// A five-point stencil on a 16×16 mesh with a 32-value column per PE, checked against the CPU loop.
const int W = 16, H = 16, Nz = 32, Steps = 20;
var u0 = new float[W * H * Nz];
var rng = new Random(7);
for (int i = 0; i < u0.Length; i++) u0[i] = (float)rng.NextDouble();
var sim = new FabricSimulator(WaferSpec.Mesh(W, H));
var (field, cycles) = StencilProgram.Run(sim, W, H, Nz, u0, Steps, 0.5f, 0.125f);
var reference = StencilProgram.Reference(W, H, Nz, u0, Steps, 0.5f, 0.125f);
double maxDiff = 0, maxRef = 0;
for (int i = 0; i < field.Length; i++) { maxDiff = Math.Max(maxDiff, Math.Abs(field[i] - reference[i])); maxRef = Math.Max(maxRef, Math.Abs(reference[i])); }
Console.WriteLine($"stencil {W}x{H}x{Nz}, {Steps} steps: {cycles} cycles ({(double)cycles / Steps:F1} per step), max |fabric − cpu| / max |cpu| = {maxDiff / maxRef:E2}");
return maxDiff <= 1e-5 * maxRef ? 0 : 1;
