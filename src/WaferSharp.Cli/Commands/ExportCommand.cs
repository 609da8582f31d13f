using System.CommandLine;
using WaferSharp.Onnx;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer export MODEL.onnx --weights FILE.safetensors --output NEW.onnx</c>: writes trained weights back into
/// the ONNX model's initializers (everything else unchanged), atomically, so the result runs in ONNX Runtime or
/// PyTorch again. Accepts <c>final.safetensors</c> from <c>wafer train</c> and checkpoints (<c>model.*</c> keys).
/// </summary>
public static class ExportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The original .onnx model." };
        var weights = new Option<string>("--weights") { Description = "Trained weights (final.safetensors or a checkpoint).", Required = true };
        var output = new Option<string>("--output") { Description = "The new .onnx file.", Required = true };
        var cmd = new Command("export", "Write trained weights back into an ONNX model.");
        cmd.Arguments.Add(model);
        cmd.Options.Add(weights); cmd.Options.Add(output);
        cmd.SetAction(pr => Run(pr.GetValue(model)!, pr.GetValue(weights)!, pr.GetValue(output)!));
        return cmd;
    }

    /// <summary>Maps weight-file keys to initializer names and checks they cover the trainable initializers exactly.</summary>
    public static Dictionary<string, DenseTensor> Match(OnnxModel model, IReadOnlyDictionary<string, DenseTensor> file, string source)
    {
        var trainable = model.FloatInitializerNames.ToHashSet(StringComparer.Ordinal);
        var w = new Dictionary<string, DenseTensor>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var (k, t) in file)
        {
            if (k.StartsWith("optim.", StringComparison.Ordinal)) continue; // optimizer state in checkpoints
            string name = !trainable.Contains(k) && k.StartsWith("model.", StringComparison.Ordinal) ? k["model.".Length..] : k;
            if (trainable.Contains(name)) w[name] = t; else unknown.Add(k);
        }
        if (unknown.Count > 0)
            throw new CliErrors.UserError($"{source} has tensors that are not initializers of {model.Source}: {string.Join(", ", unknown.Take(8))}{(unknown.Count > 8 ? ", …" : "")}; was it trained from another model?");
        var missing = trainable.Where(n => !w.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new CliErrors.UserError($"{source} lacks weights for {missing.Count} initializer(s) of {model.Source}: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", …" : "")}");
        foreach (var (n, t) in w)
        {
            var old = model.Initializers[n];
            if (t.DType != old.DType || t.Shape != old.Shape)
                throw new CliErrors.UserError($"weights for '{n}' in {source} are {t.DType.ShortName()}{t.Shape}, the model's initializer is {old.DType.ShortName()}{old.Shape}");
        }
        return w;
    }

    private static int Run(string modelPath, string weightsPath, string output)
    {
        var model = RunCommand.LoadModel(modelPath);
        RunCommand.MustExist(weightsPath, "weights file");
        var file = SafeTensors.Read(weightsPath);
        var w = Match(model, file.Tensors, weightsPath);
        if (Path.GetFullPath(output) == Path.GetFullPath(modelPath))
            throw new CliErrors.UserError($"--output must differ from the source model ({modelPath}); write a new file");
        model.Save(output, w);
        Console.Out.WriteLine($"wrote {output}: {w.Count} initializers from {weightsPath}");
        return 0;
    }
}
