using System.Text.Json;
using System.Text.RegularExpressions;
using WaferSharp.Cli;
using WaferSharp.Reports;

namespace WaferSharp.Tests.Reports;

public class CompareTests(CompareFixture fx) : IClassFixture<CompareFixture>
{
    private static void Close(double expected, double actual, string what, double rel = 1e-9) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Abs(expected) + 1e-300, $"{what}: {actual} != expected {expected}");

    private static JsonElement Json(CompareResult r) => JsonDocument.Parse(r.ToJson()).RootElement;

    [Fact]
    public void BothSidesAreEvaluatedAndFit()
    {
        var r = fx.Result;
        Assert.Equal(["wafer-1", "wafer-4", "gpu-8", "gpu-64"], r.Configs.Select(c => c.Id));
        Assert.All(r.Configs, c => Assert.True(c.Fits, $"{c.Id}: {c.Reason}"));
        Assert.Equal("tokens", r.GoalUnit);
        Assert.Equal(256, r.SeqLen);
        // the wafer side is compiled (a program with a mode), the GPU side planned (TP × PP × DP = GPUs)
        Assert.All(r.Configs.Where(c => c.Kind == "wafer"), c => Assert.Contains(c.Program!.Mode, new[] { "layer-pipelined", "weight-streaming" }));
        Assert.All(r.Configs.Where(c => c.Kind == "gpu"), c =>
            Assert.Equal(c.Count, (int)c.PlanDetail["tp"] * (int)c.PlanDetail["pp"] * (int)c.PlanDetail["dp"]));
        Assert.False(string.IsNullOrWhiteSpace(r.Verdict));
    }

    [Fact]
    public void TimeToGoalIsGoalOverTokensPerStepTimesStepTimeOnBothSides()
    {
        var root = Json(fx.Result);
        double goal = root.GetProperty("goal_tokens").GetDouble();
        Assert.Equal(CompareFixture.Goal, goal);
        int checkedSides = 0;
        foreach (var c in root.GetProperty("configs").EnumerateArray())
        {
            double tps = c.GetProperty("tokens_per_step").GetDouble(), step = c.GetProperty("step_time_s").GetDouble();
            Assert.Equal(c.GetProperty("global_batch").GetInt32() * 256.0, tps);
            Close(goal / tps * step, c.GetProperty("time_to_goal_s").GetDouble(), $"{c.GetProperty("kind")} {c.GetProperty("count")} time to goal");
            checkedSides |= c.GetProperty("kind").GetString() == "wafer" ? 1 : 2;
        }
        Assert.Equal(3, checkedSides);
    }

    [Fact]
    public void CostAndEnergyFollowFromPricesPowerAndPue()
    {
        var r = fx.Result;
        foreach (var c in r.Configs)
        {
            double hours = c.TimeToGoalS!.Value / 3600;
            Close(c.Count * hours * c.PricePerDeviceHour, c.CostUsd!.Value, $"{c.Id} cost");
            Close(c.PowerKw!.Value * hours * 1.2, c.EnergyKwh!.Value, $"{c.Id} energy");
        }
        var w = r.Configs.Where(c => c.Kind == "wafer").ToList();
        Assert.All(w, c => Close(CostDefaults.WaferPricePerSystemHour, c.PricePerDeviceHour, "default wafer price"));
        Assert.All(w, c => Close(c.Count * 20.0, c.PowerKw!.Value, "wafer power: 20 kW per system"));
        Assert.All(r.Configs.Where(c => c.Kind == "gpu"), c => Close(2.99, c.PricePerDeviceHour, "H100 preset price"));
    }

    [Fact]
    public void PriceAndPueOverridesScaleCostAndEnergy()
    {
        var model = CompareCommand.ModelFor("zoo:gpt2-small", 256);
        var o = new ComparisonOptions { GoalTokens = CompareFixture.Goal, Systems = [1], Gpus = [8], PriceWaferHour = 100, PriceGpuHour = 2, Pue = 1.5 };
        var r = Comparison.Run(model, o);
        var baseline = fx.Result;
        foreach (var c in r.Configs)
        {
            var b = baseline.Configs.Single(x => x.Id == c.Id);
            Close(b.TimeToGoalS!.Value, c.TimeToGoalS!.Value, "time does not depend on prices", 1e-12);
            Close(c.Count * c.TimeToGoalS.Value / 3600 * (c.Kind == "wafer" ? 100 : 2), c.CostUsd!.Value, $"{c.Id} cost at the override");
            Close(b.EnergyKwh!.Value * 1.5 / 1.2, c.EnergyKwh!.Value, $"{c.Id} energy scales with PUE");
        }
        Assert.Contains(r.Assumptions, a => a.Name == "PUE" && a.Value == "1.5");
        Assert.Contains(r.Assumptions, a => a.Name == "wafer price" && a.Value.Contains("$100"));
    }

    [Fact]
    public void BreakdownsAddUpToTheStepAndBurdenCountsThePlan()
    {
        foreach (var c in fx.Result.Configs)
        {
            var b = c.Breakdown!;
            Close(c.StepTimeS!.Value, b.TotalS, $"{c.Id} breakdown total", 1e-6);
            Assert.True(b.ComputeS > 0 && b.CommunicationS >= 0 && b.BubbleS >= 0 && b.WeightIoS >= 0 && b.OtherS >= 0, c.Id);
            Assert.Equal(c.Burden!.Items.Count, c.Burden.Score);
        }
        var g = fx.Result.Configs.Single(c => c.Id == "gpu-64");
        int dims = new[] { "tp", "pp", "dp" }.Count(k => (int)g.PlanDetail[k] > 1);
        Assert.Equal(dims, g.Burden!.Dimensions);
        Assert.Equal(1, fx.Result.Configs.Single(c => c.Id == "wafer-4").Burden!.Dimensions); // data parallel over systems
    }

    [Fact]
    public void InferenceComparesTtftThroughputAndEnergyPerToken()
    {
        var inf = fx.Result.Inference;
        Assert.Equal(["wafer-1", "wafer-4", "gpu-8", "gpu-64"], inf.Select(c => c.Id));
        foreach (var c in inf.Where(c => c.Fits))
        {
            Assert.True(c.TtftS > 0 && c.TokensPerSPerUser > 0, c.Id);
            Close(c.TokensPerSPerUser!.Value * 4, c.TokensPerS!.Value, $"{c.Id} total = users × per user", 1e-9);
            Close(c.PowerKw!.Value * 1000 * 1.2 / c.TokensPerS.Value, c.EnergyPerTokenJ!.Value, $"{c.Id} J/token");
        }
        Assert.Contains(inf, c => c.Kind == "wafer" && c.Fits);
        Assert.Contains(inf, c => c.Kind == "gpu" && c.Fits);
    }

    [Fact]
    public void NonFittingConfigurationsAreKeptAndMarked()
    {
        // wafer: a global batch of 6 cannot be split over 4 systems; GPU: 175B cannot fit on one H100
        var small = Comparison.Run(CompareCommand.ModelFor("zoo:gpt2-small", 128),
            new ComparisonOptions { GoalTokens = 1e9, GlobalBatch = 6, Systems = [1, 4], Gpus = [] });
        var w4 = small.Configs.Single(c => c.Id == "wafer-4");
        Assert.False(w4.Fits);
        Assert.Contains("multiple of 4 systems", w4.Reason);
        Assert.True(small.Configs.Single(c => c.Id == "wafer-1").Fits);

        var big = Comparison.Run(CompareCommand.ModelFor("zoo:gpt3-175b", null), new ComparisonOptions { GoalTokens = 3e11, Systems = [], Gpus = [1, 64] });
        var g1 = big.Configs.Single(c => c.Id == "gpu-1");
        Assert.False(g1.Fits);
        Assert.Contains("GiB", g1.Reason);
        Assert.Null(g1.TimeToGoalS);
        Assert.True(big.Configs.Single(c => c.Id == "gpu-64").Fits);

        var root = Json(big);
        var j = root.GetProperty("configs").EnumerateArray().First(c => c.GetProperty("count").GetInt32() == 1);
        Assert.False(j.GetProperty("fits").GetBoolean());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("time_to_goal_s").ValueKind);
        Assert.Equal(JsonValueKind.String, j.GetProperty("reason").ValueKind);

        // the report shows them: a hollow point and a table row marked "no"
        var html = CompareReport.Render(small);
        Assert.Matches("<circle class=\"pt nofit\" data-config=\"wafer-4\"", html);
        Assert.Contains("<tr data-config=\"wafer-4\" class=\"nofit\">", html);
    }

    [Fact]
    public void JsonHasTheIssuesFields()
    {
        var root = Json(fx.Result);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("goal_tokens").ValueKind);
        Assert.True(root.GetProperty("assumptions").GetArrayLength() >= 8);
        foreach (var c in root.GetProperty("configs").EnumerateArray())
        {
            foreach (var f in new[] { "kind", "device", "count", "fits", "plan", "step_time_s", "tokens_per_step", "time_to_goal_s", "cost_usd", "energy_kwh", "utilization", "breakdown", "burden", "plan_detail" })
                Assert.True(c.TryGetProperty(f, out _), $"config lacks '{f}'");
            Assert.Contains(c.GetProperty("kind").GetString(), new[] { "wafer", "gpu" });
        }
        Assert.Equal(4, root.GetProperty("inference").GetArrayLength());
    }

    [Fact]
    public void HtmlIsSelfContainedWithOnePointPerConfig()
    {
        var html = fx.Html;
        var r = fx.Result;
        Assert.Equal(r.Configs.Count, Regex.Matches(html, "<circle class=\"pt[ \"]").Count);
        foreach (var c in r.Configs) Assert.Contains($"data-config=\"{c.Id}\"", html);
        Assert.Equal(r.Configs.Count(c => c.Fits), Regex.Matches(html, "<circle class=\"pp\"").Count);
        Assert.Contains("id=\"chart-breakdown\"", html);
        Assert.Contains("class=\"seg\"", html);
        Assert.Contains("Regions by cycles per step", html);          // the compiler's wafer heatmap
        Assert.Contains("id=\"verdict\"", html);
        Assert.Contains("id=\"assumptions\"", html);
        Assert.DoesNotContain("<script src", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotMatch("(src|href)=\"https?:", html);
    }

    [Fact]
    public void ParetoFrontHasNoDominatedConfig()
    {
        var front = CompareReport.ParetoFront(fx.Result.Configs);
        Assert.NotEmpty(front);
        foreach (var f in front)
            Assert.DoesNotContain(fx.Result.Configs, c => c.Fits && c != f && c.TimeToGoalS <= f.TimeToGoalS && c.CostUsd < f.CostUsd);
    }

    [Fact]
    public void ReferenceBatchFollowsTheGpt3Table()
    {
        Assert.Equal(1536, BatchPolicy.ReferenceBatch(174_604_259_328, 2048)); // GPT-3 175B: 3.2M tokens
        Assert.Equal(512, BatchPolicy.ReferenceBatch(124_439_808, 1024));      // 0.5M tokens
        Assert.Equal(1024, BatchPolicy.ReferenceBatch(6_658_404_352, 2048));   // 2M tokens
        Assert.Equal(1024, BatchPolicy.ReferenceBatch(67_121_152, null));      // no sequence: samples
        Assert.Equal(BatchPolicy.MaxSequences, BatchPolicy.ReferenceBatch(1_000_000, 16)); // short sequences: capped
    }
}

[CollectionDefinition("CompareCli", DisableParallelization = true)]
public class CompareCliCollection { }

[Collection("CompareCli")]
public class CompareCliTests
{
    [Fact]
    public void WritesJsonAndReportAtomically()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"compare-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "c.json"), html = Path.Combine(dir, "c.html");
            var (code, output, err) = TestUtil.RunCli("compare", "zoo:gpt2-small", "--seq-len", "128", "--tokens", "1e9", "--systems", "1", "--gpus", "8",
                "--price-gpu-hour", "2.5", "--json", json, "--report", html);
            Assert.True(code == 0, err);
            Assert.Contains("time to goal", output);
            Assert.Contains("Faster:", output);
            var root = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
            Assert.Equal(1e9, root.GetProperty("goal_tokens").GetDouble());
            Assert.Equal(2, root.GetProperty("configs").GetArrayLength());
            Assert.Equal(2.5, root.GetProperty("configs")[1].GetProperty("price_per_device_hour").GetDouble());
            Assert.StartsWith("<!doctype html>", File.ReadAllText(html));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp*"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("--tokens", "lots")]
    [InlineData("--systems", "1,0")]
    [InlineData("--gpus", "8,x")]
    [InlineData("--pue", "0.5")]
    [InlineData("--wafer", "wse9")]
    [InlineData("--gpu", "v100")]
    [InlineData("--report", "/nonexistent-dir/x.html")]
    public void BadInputIsAOneLineUserError(string option, string value)
    {
        var args = new List<string> { "compare", "zoo:gpt2-small", "--tokens", "1e9", "--systems", "1", "--gpus", "8" };
        int i = args.IndexOf(option);
        if (i >= 0) args[i + 1] = value; else { args.Add(option); args.Add(value); }
        var (code, _, err) = TestUtil.RunCli([.. args]);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(File.Exists("/nonexistent-dir/x.html"));
    }

    [Fact]
    public void QuickstartTrainsThenWritesTheComparisonReport()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"quickstart-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var (code, output, err) = TestUtil.RunCli("quickstart", "--dim", "32", "--steps", "20", "--batch-size", "16", "--output", dir);
            Assert.True(code == 0, err);
            string path = Path.Combine(dir, "quickstart-report.html");
            Assert.Contains(path, output);
            Assert.Contains("wse3", output);               // trains on the simulated wafer by default
            Assert.Contains("device throughput", output);  // and reports the device's side of each step
            var html = File.ReadAllText(path);
            Assert.Equal(4, Regex.Matches(html, "<circle class=\"pt[ \"]").Count); // 1, 4 systems; 8, 64 GPUs
            Assert.Contains("quickstart MLP 32", html);
            Assert.Contains("samples", html);
            Assert.Equal(2, TestUtil.RunCli("quickstart", "--steps", "1", "--output", Path.Combine(dir, "missing")).Code);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void UnknownModelAndMissingInferenceOptionsAreUserErrors()
    {
        Assert.Equal(2, TestUtil.RunCli("compare", "zoo:nope", "--tokens", "1e9").Code);
        Assert.Equal(2, TestUtil.RunCli("compare", "zoo:gpt2-small", "--tokens", "1e9", "--inference").Code);
        Assert.Equal(2, TestUtil.RunCli("compare", "zoo:mlp", "--tokens", "1e9", "--systems", "1", "--gpus", "8", "--inference", "--prompt-len", "8", "--new-tokens", "4").Code);
    }
}
