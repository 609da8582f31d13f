namespace WaferSharp.Compiler;

/// <summary>Human-readable quantities for messages.</summary>
internal static class Units
{
    /// <summary>Bytes as "12.3 GB", "4.5 MB" or "678 KB".</summary>
    public static string Bytes(double b) => b >= 1e9 ? $"{b / 1e9:0.##} GB" : b >= 1e6 ? $"{b / 1e6:0.##} MB" : $"{b / 1e3:0.#} KB";
}
