using WaferSharp.Cli;
using WaferSharp.Reports;

namespace WaferSharp.Tests.Reports;

/// <summary>One comparison shared by the report tests (GPT-2 small: 1 and 4 wse3 systems vs 8 and 64 H100s, with inference).</summary>
public sealed class CompareFixture
{
    public const double Goal = 2e9;

    public CompareResult Result { get; }
    public string Html { get; }

    public CompareFixture()
    {
        var model = CompareCommand.ModelFor("zoo:gpt2-small", 256);
        Result = Comparison.Run(model, new ComparisonOptions
        {
            GoalTokens = Goal, Systems = [1, 4], Gpus = [8, 64], Inference = new InferenceOptions(64, 16, 4),
        });
        Html = CompareReport.Render(Result);
    }
}
