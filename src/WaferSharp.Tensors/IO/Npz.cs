using System.Collections.ObjectModel;
using System.IO.Compression;

namespace WaferSharp.Tensors.IO;

/// <summary>
/// Reads and writes NumPy <c>.npz</c> archives: a ZIP file with one <c>&lt;key&gt;.npy</c> member per array
/// (as written by <c>np.savez</c> and <c>np.savez_compressed</c>). Member contents follow <see cref="Npy"/>,
/// including its dtype conversions (bf16 is written as float32).
/// </summary>
public static class Npz
{
    /// <summary>
    /// Reads every array of the archive at <paramref name="path"/>, keyed by member name without <c>.npy</c>
    /// (member <c>x.npy</c> → key <c>x</c>), in archive (central directory) order. Stored and deflated members
    /// are supported. Directory entries are skipped; any other non-<c>.npy</c> member is rejected.
    /// </summary>
    /// <exception cref="InvalidDataException">The archive is corrupt, has duplicate or non-.npy members, or a member is not a supported .npy array.</exception>
    public static IReadOnlyDictionary<string, DenseTensor> Read(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var result = new OrderedDictionary<string, DenseTensor>(StringComparer.Ordinal);
        try
        {
            using var zip = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: false);
            foreach (var entry in zip.Entries)
            {
                string name = entry.FullName;
                if (name.EndsWith('/') && entry.Length == 0) continue;
                if (!name.EndsWith(".npy", StringComparison.Ordinal))
                    throw Npy.Fail(path, $"archive member '{name}' is not a .npy array; an .npz may only hold <key>.npy members (re-create it with np.savez)");
                string key = name[..^4];
                if (result.ContainsKey(key))
                    throw Npy.Fail(path, $"archive holds member '{name}' twice; re-create it with np.savez");
                using var es = entry.Open();
                result.Add(key, Npy.ReadCore(es, $"{path}[{name}]", uint16AsBFloat16: false));
            }
        }
        catch (Exception e) when (IsCorruption(e))
        {
            throw new InvalidDataException($"{path}: corrupt .npz (zip) archive: {OneLine(e.Message)}; re-create it with np.savez", e);
        }
        return new ReadOnlyDictionary<string, DenseTensor>(result);
    }

    /// <summary>
    /// Writes <paramref name="arrays"/> as an .npz archive at <paramref name="path"/>, one <c>&lt;key&gt;.npy</c>
    /// member each, in the given order. With <paramref name="compressed"/> members are deflated (like
    /// <c>np.savez_compressed</c>), otherwise stored (like <c>np.savez</c>). Member timestamps are fixed at
    /// 1980-01-01 so equal inputs give byte-identical archives. The write is atomic (temp file + rename);
    /// on failure an existing file at <paramref name="path"/> is left untouched.
    /// </summary>
    /// <exception cref="ArgumentException">A key is empty or repeated.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, DenseTensor>> arrays, bool compressed = false)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        AtomicFile.Write(path, fs =>
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            using var zip = new ZipArchive(fs, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (key, tensor) in arrays)
            {
                if (string.IsNullOrEmpty(key)) throw new ArgumentException("npz keys must be non-empty", nameof(arrays));
                if (!seen.Add(key)) throw new ArgumentException($"npz key '{key}' appears twice", nameof(arrays));
                ArgumentNullException.ThrowIfNull(tensor, $"arrays[{key}]");
                var entry = zip.CreateEntry(key + ".npy", compressed ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                entry.LastWriteTime = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);
                using var es = entry.Open();
                Npy.Write(es, tensor);
            }
        });
    }

    private static bool IsCorruption(Exception e) =>
        e is InvalidDataException ide ? !ide.Data.Contains(AtomicFile.FormatErrorKey)
        : e is IOException and not FileNotFoundException and not DirectoryNotFoundException
            || e is NotSupportedException or ArgumentException or OverflowException or IndexOutOfRangeException or InvalidOperationException;

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").TrimEnd('.', ' ');
}
