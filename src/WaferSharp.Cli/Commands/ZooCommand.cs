using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using WaferSharp.Zoo;

namespace WaferSharp.Cli;

/// <summary><c>wafer zoo [NAME] [--json]</c>: lists the model zoo, or shows one model's configuration.</summary>
public static class ZooCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var name = new Argument<string?>("name") { Arity = ArgumentArity.ZeroOrOne, Description = "A zoo model (e.g. gpt2-small); omit to list them all." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var cmd = new Command("zoo", "List the model zoo (parameter counts, shapes) or show one model.");
        cmd.Arguments.Add(name);
        cmd.Options.Add(json);
        cmd.SetAction(parseResult =>
        {
            string? n = parseResult.GetValue(name);
            bool asJson = parseResult.GetValue(json);
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            if (Console.IsOutputRedirected || console.Profile.Width < 120) console.Profile.Width = 160; // keep rows on one line in pipes and logs
            if (n is null)
            {
                if (asJson) Console.Out.WriteLine(JsonSerializer.Serialize(ModelZoo.All.Select(ToJson).ToList(), JsonOptions));
                else console.Write(Table());
                return 0;
            }
            var c = ModelZoo.Get(n); // unknown → KeyNotFoundException → one-line error, exit 2
            if (asJson) Console.Out.WriteLine(JsonSerializer.Serialize(ToJson(c), JsonOptions));
            else console.Write(Summary(c));
            return 0;
        });
        return cmd;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private static string N(long x) => x.ToString("N0", CultureInfo.InvariantCulture);

    private static string Dash(long x) => x == 0 ? "-" : N(x);

    /// <summary>One model as a JSON object (snake_case keys, exact integer parameter count).</summary>
    public static Dictionary<string, object> ToJson(ModelConfig c) => new()
    {
        ["name"] = c.Name,
        ["family"] = c.Family,
        ["parameters"] = ModelZoo.ParameterCount(c),
        ["layers"] = c.Layers,
        ["hidden"] = c.Hidden,
        ["heads"] = c.Heads,
        ["kv_heads"] = c.KvHeads,
        ["head_dim"] = c.HeadDim,
        ["vocab"] = c.Vocab,
        ["seq_len"] = c.SeqLen,
        ["ffn_hidden"] = c.FfnHidden,
        ["tied_embeddings"] = c.TiedEmbeddings,
        ["norm"] = c.Norm,
        ["norm_eps"] = c.NormEps,
        ["activation"] = c.Activation,
        ["positions"] = c.Positions,
        ["rope_theta"] = c.RopeTheta,
        ["bias"] = c.Bias,
        ["dropout"] = c.Dropout,
        ["source"] = c.Source,
    };

    private static Table Table()
    {
        var t = new Table().Border(TableBorder.Rounded);
        t.AddColumn("name");
        t.AddColumn("family");
        foreach (var h in new[] { "parameters", "layers", "hidden", "heads", "kv heads", "vocab", "seq_len" })
            t.AddColumn(new TableColumn(h).RightAligned());
        foreach (var c in ModelZoo.All)
            t.AddRow(Markup.Escape(c.Name), Markup.Escape(c.Family), N(ModelZoo.ParameterCount(c)), N(c.Layers), N(c.Hidden),
                Dash(c.Heads), Dash(c.KvHeads), Dash(c.Vocab), Dash(c.SeqLen));
        return t;
    }

    private static Grid Summary(ModelConfig c)
    {
        long p = ModelZoo.ParameterCount(c);
        var g = new Grid().AddColumn().AddColumn();
        void Row(string k, string v) => g.AddRow(new Markup($"[bold]{Markup.Escape(k)}[/]"), new Text(v));
        Row("name", c.Name);
        Row("family", c.Family);
        Row("parameters", $"{N(p)} ({p / 1e9:0.###} B; {p * 2 / 1e9:0.#} GB in bf16, {p * 4 / 1e9:0.#} GB in fp32)");
        Row("layers", N(c.Layers));
        Row("hidden", N(c.Hidden));
        if (c.IsLanguageModel)
        {
            Row("heads", $"{c.Heads} (head dim {c.HeadDim})");
            Row("kv heads", c.KvHeads == c.Heads ? $"{c.KvHeads}" : $"{c.KvHeads} (grouped-query, {c.Heads / c.KvHeads} query heads each)");
            Row("vocab", N(c.Vocab));
            Row("seq_len", N(c.SeqLen));
        }
        Row("ffn hidden", N(c.FfnHidden));
        Row("activation", c.Activation);
        Row("norm", c.Norm == "none" ? "none" : $"{c.Norm} (eps {c.NormEps:G})");
        Row("positions", c.Positions == "rope" ? $"rope (theta {c.RopeTheta:G})" : c.Positions);
        Row("tied embeddings", c.TiedEmbeddings ? "yes" : "no");
        Row("bias", c.Bias ? "yes" : "no");
        if (c.Source.Length > 0) Row("source", c.Source);
        return g;
    }
}
