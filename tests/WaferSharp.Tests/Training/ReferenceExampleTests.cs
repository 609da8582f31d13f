using WaferSharp.Tensors;
using WaferSharp.Training;

namespace WaferSharp.Tests.Training;

/// <summary>The product's reference program, at its real size, runs as written (two steps to keep CI fast).</summary>
public class ReferenceExampleTests
{
    private sealed class MyModel : Module
    {
        readonly Sequential layers = new(new WaferSharp.Linear(4096, 8192), new GELU(), new WaferSharp.Linear(8192, 4096));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }

    [Fact]
    public void ReferenceProgramTrainsOnCpu()
    {
        var x = DenseTensor.Zeros(8, 4096); Generator.Default.FillNormal(x.AsFloat(), 0, 1);
        var y = DenseTensor.Zeros(8, 4096); Generator.Default.FillNormal(y.AsFloat(), 0, 1);
        var trainLoader = new DataLoader(x, y, batchSize: 4);

        var model = new MyModel();
        var optimizer = new AdamW(model.Parameters(), lr: 3e-4);
        var trainer = new Trainer(model, optimizer, new TrainerConfig { Device = "cpu", MaxSteps = 3, Progress = "none" });
        var result = trainer.Fit(trainLoader);

        Assert.Equal(67_121_152, model.ParameterCount());
        Assert.Equal(3, result.Losses.Count);
        Assert.True(result.Losses[2] < result.Losses[0], $"loss did not fall: {string.Join(", ", result.Losses)}");
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"], model.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void UnknownDeviceIsAClearError()
    {
        var model = new MyModelSmall();
        var t = new Trainer(model, new AdamW(model.Parameters()), new TrainerConfig { Device = "tpu9", MaxSteps = 1, Progress = "none" });
        var e = Assert.Throws<ArgumentException>(() => t.Fit(new DataLoader(DenseTensor.Zeros(4, 3), DenseTensor.Zeros(4, 3), 2)));
        Assert.Contains("unknown device 'tpu9'", e.Message);
    }

    [Fact]
    public void ShapeMismatchNamesTheLayerAndShapes()
    {
        var model = new MyModelSmall();
        var e = Assert.ThrowsAny<ArgumentException>(() => model.Forward(Tensor.Zeros(2, 5)));
        Assert.Contains("Linear", e.Message);
        Assert.Contains("layers.0", e.Message);
        Assert.Contains("[2,5]", e.Message);
        Assert.Contains("3", e.Message);
    }

    [Fact]
    public void WrongDtypeIsAClearError()
    {
        var model = new MyModelSmall();
        var e = Assert.ThrowsAny<ArgumentException>(() => model.Forward(new Tensor(DenseTensor.Zeros(new Shape(2, 3), DType.Int64))));
        Assert.Contains("i64", e.Message);
    }

    [Fact]
    public void EvaluationRunsEveryNStepsAndReportsEvalLoss()
    {
        var model = new MyModelSmall();
        var x = DenseTensor.Zeros(8, 3); Generator.Default.FillNormal(x.AsFloat(), 0, 1);
        var evals = new List<double?>();
        var t = new Trainer(model, new AdamW(model.Parameters(), lr: 1e-2), new TrainerConfig { MaxSteps = 6, EvalEvery = 3, Progress = "none" });
        t.StepCompleted += m => evals.Add(m.EvalLoss);
        t.Fit(new DataLoader(x, x, 4), eval: new DataLoader(x, x, 4));
        Assert.Null(evals[0]);
        Assert.NotNull(evals[2]);
        Assert.NotNull(evals[5]);
        Assert.True(evals[5] < evals[2]);
    }

    [Fact]
    public void MetricsAreJsonLinesWithStepAndLoss()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ws-metrics-{Guid.NewGuid():N}.jsonl");
        try
        {
            var model = new MyModelSmall();
            var x = DenseTensor.Zeros(8, 3);
            new Trainer(model, new SGD(model.Parameters(), lr: 0.1), new TrainerConfig { MaxSteps = 4, MetricsPath = path, Progress = "none" })
                .Fit(new DataLoader(x, x, 4));
            var lines = File.ReadAllLines(path);
            Assert.Equal(4, lines.Length);
            using var doc = System.Text.Json.JsonDocument.Parse(lines[3]);
            Assert.Equal(4, doc.RootElement.GetProperty("step").GetInt64());
            Assert.True(doc.RootElement.TryGetProperty("loss", out _));
            Assert.True(doc.RootElement.TryGetProperty("samples_per_s", out _));
        }
        finally { File.Delete(path); }
    }

    private sealed class MyModelSmall : Module
    {
        readonly Sequential layers = new(new WaferSharp.Linear(3, 8), new ReLU(), new WaferSharp.Linear(8, 3));
        public override Tensor Forward(Tensor x) => layers.Forward(x);
    }
}
