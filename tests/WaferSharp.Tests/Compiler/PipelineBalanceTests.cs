using System.CommandLine;
using WaferSharp.Cli;
using WaferSharp.Compiler;
using WaferSharp.Hardware;

namespace WaferSharp.Tests.Compiler;

/// <summary>Layer-pipelined GPT plans: balanced regions, the loss with the LM head, micro-batches that overlap.</summary>
public class PipelineBalanceTests
{
    private static WaferProgram Gpt2Small(int batch, int seq = 256)
    {
        var (src, s, _) = CompileCommand.BuildSource("zoo:gpt2-small", batch, seq, inference: false);
        return WaferCompiler.Compile(src, new CompileOptions { Wafer = WaferSpec.Wse3, Mode = ExecutionMode.Pipelined, SeqLen = s }, inference: false);
    }

    private static double ComputeCycles(WaferProgram prog, ProgramRegion r) =>
        r.Kernels.Where(k => prog.Kernels[k].Phase != "optimizer").Sum(k => prog.Kernels[k].Cycles);

    private static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]);
    }

    [Fact]
    public void NoRegionIsFarSlowerThanTheMedianAndTheLossSitsWithTheLmHead()
    {
        var prog = Gpt2Small(1);
        Assert.True(prog.PesUsed < 0.95 * prog.Fabric.UsablePes, "the fabric has room");
        var times = prog.Regions.Select(r => ComputeCycles(prog, r)).ToArray();
        double median = Median(times);
        Assert.True(times.Max() <= 2 * median, $"slowest region {times.Max():0} cycles vs median {median:0}");

        // the cross-entropy over the 50k vocabulary runs on the LM head's region (the logits never cross the fabric),
        // and that region — the most work per micro-batch — is the largest
        var ce = prog.Kernels.Single(k => k.Op == "CrossEntropy");
        var head = prog.Kernels.First(k => k.Name.StartsWith("lm_head", StringComparison.Ordinal) && k.Phase == "forward");
        Assert.Equal(head.RegionId, ce.RegionId);
        var loss = prog.Regions[ce.RegionId];
        Assert.Equal(prog.Regions.Max(r => r.Rect.Pes), loss.Rect.Pes);
        Assert.True(loss.Rect.Pes > 20 * Median(prog.Regions.Select(r => (double)r.Rect.Pes)));
        Assert.DoesNotContain(prog.Routes, r => r.Value.Contains("50257", StringComparison.Ordinal) && prog.Kernels[r.To].Op.StartsWith("CrossEntropy", StringComparison.Ordinal));

        // PEs follow work: the regions with more FLOPs per micro-batch get more PEs (rank correlation)
        var flops = prog.Regions.Select(r => r.Kernels.Where(k => prog.Kernels[k].Phase != "optimizer").Sum(k => prog.Kernels[k].Flops)).ToArray();
        var pes = prog.Regions.Select(r => (double)r.Rect.Pes).ToArray();
        Assert.True(Spearman(flops, pes) > 0.6, $"rank correlation of FLOPs and PEs {Spearman(flops, pes):0.00}");
    }

    [Fact]
    public void BatchSizeDrivesMicrobatchesThatOverlap()
    {
        var one = Gpt2Small(1);
        var eight = Gpt2Small(8);
        Assert.Equal(8, eight.Schedule.Microbatches * eight.Schedule.MicrobatchSize);
        // samples stream through the pipeline: 8 samples take far less than 8 single-sample steps
        Assert.True(eight.StepCycles < 0.6 * 8 * one.StepCycles, $"batch 8 {eight.StepCycles:0} vs batch 1 {one.StepCycles:0}");
        Assert.True(eight.Utilization > 1.5 * one.Utilization);
        // with B micro-batches the step is about (stages + B − 1) × the slowest stage, less when rows stream in chunks
        double slowest = eight.Regions.Max(r => r.StageCycles);
        Assert.True(eight.StepCycles <= (eight.Regions.Count + eight.Schedule.Microbatches) * slowest + eight.Regions.Sum(r => r.StageCycles));
    }

    [Fact]
    public void AutoComparesBothModesAtTheSameBatchAndSaysWhy()
    {
        var (src, s, _) = CompileCommand.BuildSource("zoo:gpt2-small", 8, 256, inference: false);
        var prog = WaferCompiler.Compile(src, new CompileOptions { Wafer = WaferSpec.Wse3, Mode = ExecutionMode.Auto, SeqLen = s }, inference: false);
        Assert.StartsWith("auto:", prog.ModeReason);
        Assert.Contains("weight", prog.ModeReason);
        Assert.Contains("ms", prog.ModeReason); // both step times are quoted
    }

    private static double Spearman(double[] a, double[] b)
    {
        double[] Rank(double[] x)
        {
            var idx = Enumerable.Range(0, x.Length).OrderBy(i => x[i]).ToArray();
            var r = new double[x.Length];
            for (int i = 0; i < idx.Length; i++) r[idx[i]] = i;
            return r;
        }
        var ra = Rank(a); var rb = Rank(b);
        double ma = ra.Average(), mb = rb.Average(), num = 0, da = 0, db = 0;
        for (int i = 0; i < ra.Length; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) * (ra[i] - ma); db += (rb[i] - mb) * (rb[i] - mb); }
        return num / Math.Sqrt(da * db);
    }
}

/// <summary>`wafer compile` end to end on an ONNX file, inference and training.</summary>
public class CompileOnnxTests
{
    private static int Wafer(params string[] args)
    {
        var root = new RootCommand();
        foreach (var c in Commands.All()) root.Subcommands.Add(c);
        return CliErrors.Invoke(root, args);
    }

    [Theory]
    [InlineData("--inference")]
    [InlineData("--train")]
    public void CompilesTheGptBlockFixture(string task)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"compile-onnx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "plan.json");
            string model = TestUtil.Fixture("onnx", "gpt_block.onnx");
            Assert.Equal(0, Wafer("compile", model, "--device", "mesh:96x96", "--mode", "pipelined", task, "--seq-len", "16", "--batch-size", "2", "--json", json));
            var prog = WaferProgram.FromJson(File.ReadAllText(json));
            Assert.Equal("layer-pipelined", prog.Mode);
            Assert.Equal(task == "--train" ? "train" : "inference", prog.Task);
            Assert.Contains(prog.Kernels, k => k.Family == "Gemm");
            Assert.Contains(prog.Kernels, k => k.Family == "Attention" || k.Family == "Softmax");
            if (task == "--train")
            {
                Assert.Contains(prog.Kernels, k => k.Phase == "backward");
                Assert.Contains(prog.Kernels, k => k.Family == "OptimizerUpdate");
            }
            Assert.True(prog.StepCycles > 0 && prog.Tflops > 0);
            Assert.True(prog.SramBytesMaxPerPe <= 48 * 1024);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
