using System.Text.Json;
using System.Text.Json.Nodes;
using WaferSharp.Tensors;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Training;

/// <summary>What a checkpoint's JSON sidecar records besides the tensors.</summary>
public sealed record CheckpointInfo(long Step, long OptimizerStep, ulong RngState, long LoaderBatch, string WeightsFile, string Sha256, string Optimizer, JsonObject? Config);

/// <summary>
/// Checkpoints as <c>step-NNNNNNNN.safetensors</c> (weights as <c>model.*</c>, optimizer slots as <c>optim.*</c>)
/// plus a JSON sidecar (step, RNG state, data-loader position, config, SHA-256 of the weights file). Both
/// are written atomically, the sidecar last, so a sidecar's presence means its checkpoint is complete.
/// </summary>
public sealed class CheckpointManager(string directory, int keepLast = 3)
{
    /// <summary>Checkpoint folder.</summary>
    public string Directory { get; } = directory;

    /// <summary>Messages about refused checkpoints go here (default: stderr).</summary>
    public Action<string> Warn { get; set; } = m => Console.Error.WriteLine("warning: " + m);

    /// <summary>Writes a checkpoint of the model and optimizer.</summary>
    public CheckpointInfo Save(Module model, Optimizer optimizer, long step, ulong rngState, long loaderBatch, JsonObject? config = null)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var tensors = new List<KeyValuePair<string, DenseTensor>>();
        var names = Tracer.NamesOf(model);
        foreach (var (n, p) in model.NamedParameters()) tensors.Add(new("model." + n, p.Data));
        foreach (var p in optimizer.Params)
        {
            var st = optimizer.StateOf(p);
            for (int k = 0; k < st.Length; k++) tensors.Add(new($"optim.{names[p]}.{optimizer.StateSlots[k]}", st[k]));
        }
        string stem = $"step-{step:D8}";
        string weights = Path.Combine(Directory, stem + ".safetensors");
        SafeTensors.Write(weights, tensors, new Dictionary<string, string> { ["step"] = step.ToString(), ["format"] = "wafersharp-checkpoint-v1" });
        var info = new CheckpointInfo(step, optimizer.StepCount, rngState, loaderBatch, stem + ".safetensors", SafeTensors.Sha256(weights), optimizer.ToString()!, config);
        var json = new JsonObject
        {
            ["step"] = info.Step, ["optimizer_step"] = info.OptimizerStep, ["rng_state"] = info.RngState.ToString(),
            ["loader_batch"] = info.LoaderBatch, ["weights"] = info.WeightsFile, ["sha256"] = info.Sha256,
            ["optimizer"] = info.Optimizer, ["config"] = config?.DeepClone(),
        };
        AtomicFile.WriteAllText(Path.Combine(Directory, stem + ".json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Prune();
        return info;
    }

    private void Prune()
    {
        if (keepLast <= 0) return;
        foreach (var old in Sidecars().Skip(keepLast))
        {
            TryDelete(old);
            TryDelete(Path.ChangeExtension(old, ".safetensors"));
        }
    }

    private static void TryDelete(string f) { try { File.Delete(f); } catch (IOException) { } }

    private IEnumerable<string> Sidecars() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.GetFiles(Directory, "step-*.json").OrderByDescending(f => f, StringComparer.Ordinal)
            : [];

    /// <summary>
    /// Restores the newest checkpoint whose weights pass their checksum into model and optimizer; a bad one is
    /// refused with a warning and the previous one is tried. Returns null when there is none.
    /// </summary>
    public CheckpointInfo? RestoreLatest(Module model, Optimizer optimizer)
    {
        foreach (var side in Sidecars())
        {
            CheckpointInfo info;
            try { info = ReadSidecar(side); }
            catch (Exception e) when (e is JsonException or InvalidDataException or KeyNotFoundException or FormatException)
            { Warn($"checkpoint {Path.GetFileName(side)} has an unreadable sidecar ({e.Message}); trying the previous one"); continue; }
            string weights = Path.Combine(Directory, info.WeightsFile);
            if (!File.Exists(weights)) { Warn($"checkpoint {info.WeightsFile} is missing; trying the previous one"); continue; }
            string sha = SafeTensors.Sha256(weights);
            if (!string.Equals(sha, info.Sha256, StringComparison.OrdinalIgnoreCase))
            { Warn($"checkpoint {info.WeightsFile} fails its checksum (file corrupt or changed); refusing it and trying the previous one"); continue; }
            Load(weights, model, optimizer);
            optimizer.StepCount = info.OptimizerStep;
            return info;
        }
        return null;
    }

    /// <summary>Loads model (and optimizer state if present) from a checkpoint weights file.</summary>
    public static void Load(string weightsPath, Module model, Optimizer? optimizer)
    {
        var f = SafeTensors.Read(weightsPath);
        var modelState = f.Tensors.Where(kv => kv.Key.StartsWith("model.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["model.".Length..], kv => kv.Value);
        model.LoadStateDict(modelState.Count > 0 ? modelState : f.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value));
        if (optimizer is null) return;
        var names = Tracer.NamesOf(model);
        foreach (var p in optimizer.Params)
        {
            var slots = new DenseTensor[optimizer.StateSlots.Count];
            for (int k = 0; k < slots.Length; k++)
            {
                string key = $"optim.{names[p]}.{optimizer.StateSlots[k]}";
                slots[k] = f.Tensors.TryGetValue(key, out var t) ? t.Clone()
                    : throw new InvalidDataException($"{weightsPath} has no optimizer state '{key}'; was it saved with another optimizer?");
            }
            optimizer.SetState(p, slots);
        }
    }

    private static CheckpointInfo ReadSidecar(string path)
    {
        var j = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        return new CheckpointInfo(
            j["step"]!.GetValue<long>(), j["optimizer_step"]!.GetValue<long>(), ulong.Parse(j["rng_state"]!.GetValue<string>()),
            j["loader_batch"]!.GetValue<long>(), j["weights"]!.GetValue<string>(), j["sha256"]!.GetValue<string>(),
            j["optimizer"]?.GetValue<string>() ?? "", j["config"] as JsonObject);
    }
}
