namespace WaferSharp.Compiler;
/// <summary>Placeholder so the project builds before its first real file lands.</summary>
internal static class ProjectMarker { }
