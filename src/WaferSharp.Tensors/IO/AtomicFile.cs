using System.Security.Cryptography;
using System.Text;

namespace WaferSharp.Tensors.IO;

/// <summary>
/// Atomic file writes for every writer in the stack (tensors, checkpoints, programs, reports): a temporary file in the
/// target's folder, flushed to disk, then renamed over the target, so a failure or a kill never leaves partial output.
/// </summary>
public static class AtomicFile
{
    /// <summary>Key set in <see cref="Exception.Data"/> on format errors raised by our readers.</summary>
    internal const string FormatErrorKey = "WaferSharp.IO.FormatError";

    /// <summary>
    /// Runs <paramref name="write"/> against <c>path + ".tmp-&lt;random&gt;"</c> in the same directory, flushes it to
    /// disk and renames it over <paramref name="path"/>. On any failure the temporary file is deleted and the
    /// exception propagates; an existing <paramref name="path"/> is never partially overwritten.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir)) throw new DirectoryNotFoundException($"directory not found: {dir} (create it first)");
        string tmp = full + ".tmp-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8, no byte-order mark) atomically.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, Utf8.GetBytes(text));

    /// <summary>Writes <paramref name="bytes"/> atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
}
