using System.CommandLine;
using System.Globalization;
using WaferSharp.Graph;
using WaferSharp.Onnx;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;
using WaferSharp.Training;

namespace WaferSharp.Cli;

/// <summary>
/// <c>wafer run MODEL.onnx --input NAME=FILE.npy [--input …] --output-dir DIR [--device cpu]</c>: imports the
/// ONNX model for the given inputs, runs the forward pass and writes one <c>DIR/&lt;output&gt;.npy</c> per graph
/// output (atomically), printing each output's name and shape.
/// </summary>
public static class RunCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The .onnx model file." };
        var inputs = new Option<string[]>("--input") { Description = "An input as NAME=FILE.npy (repeat for each model input).", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false, Required = true };
        var outDir = new Option<string>("--output-dir") { Description = "Folder for one <output name>.npy per graph output.", Required = true };
        var device = new Option<string>("--device") { Description = "Device to run on.", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("run", "Run an ONNX model's forward pass on .npy inputs and write its outputs as .npy files.");
        cmd.Arguments.Add(model);
        cmd.Options.Add(inputs); cmd.Options.Add(outDir); cmd.Options.Add(device);
        cmd.SetAction(pr => Run(pr.GetValue(model)!, pr.GetValue(inputs) ?? [], pr.GetValue(outDir)!, pr.GetValue(device)!));
        return cmd;
    }

    /// <summary>Loads a model file, turning a missing file into a user error.</summary>
    internal static OnnxModel LoadModel(string path)
    {
        if (!File.Exists(path)) throw new CliErrors.UserError($"model file not found: {path}");
        return OnnxModel.Load(path);
    }

    /// <summary>Reads a .npy/.npz file, turning a missing file into a user error.</summary>
    internal static void MustExist(string path, string what)
    {
        if (!File.Exists(path)) throw new CliErrors.UserError($"{what} not found: {path}");
    }

    /// <summary>An output name as a file name (path separators and other unsafe characters become '_').</summary>
    internal static string FileNameOf(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var s = new string(name.Select(c => invalid.Contains(c) || c is ':' or '\\' or '/' ? '_' : c).ToArray());
        return s is "" or "." or ".." ? "_" + s : s;
    }

    private static int Run(string modelPath, string[] inputSpecs, string outDir, string device)
    {
        var model = LoadModel(modelPath);
        var given = new Dictionary<string, DenseTensor>();
        foreach (var spec in inputSpecs)
        {
            int eq = spec.IndexOf('=');
            if (eq <= 0 || eq == spec.Length - 1) throw new CliErrors.UserError($"--input '{spec}' must look like NAME=FILE.npy");
            string name = spec[..eq], file = spec[(eq + 1)..];
            if (given.ContainsKey(name)) throw new CliErrors.UserError($"input '{name}' is given twice");
            MustExist(file, $"input file for '{name}'");
            given[name] = Npy.Read(file);
        }
        var imported = OnnxImporter.Import(model, given.ToDictionary(kv => kv.Key, kv => new TensorType(kv.Value.DType, kv.Value.Shape)));
        var runner = Devices.Create(device, imported.Graph);
        var result = runner.Run(imported.Feeds(given));
        Directory.CreateDirectory(outDir);
        var files = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, _) in imported.Graph.Outputs)
        {
            var t = result.Outputs[name];
            string file = FileNameOf(name) + ".npy";
            if (!files.Add(file)) throw new CliErrors.UserError($"outputs '{name}' and another output map to the same file name '{file}'");
            string path = Path.Combine(outDir, file);
            Npy.Write(path, t);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {t.DType.ShortName()}{t.Shape} -> {path}"));
        }
        return 0;
    }
}
