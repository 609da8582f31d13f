using System.CommandLine;
using Spectre.Console;
using WaferSharp.Onnx;

namespace WaferSharp.Cli;

/// <summary><c>wafer ops</c>: the ONNX operators and opsets the importer supports.</summary>
public static class OpsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("ops", "List the supported ONNX operators and opsets.");
        cmd.SetAction(_ =>
        {
            Console.Out.WriteLine($"ONNX default domain (ai.onnx), opsets {OnnxModel.MinOpset}-{OnnxModel.MaxOpset}; {OnnxOpTable.Supported.Count} operators:");
            int w = OnnxOpTable.Supported.Keys.Max(k => k.Length);
            foreach (var (op, note) in OnnxOpTable.Supported) Console.Out.WriteLine($"  {op.PadRight(w)}  {note}");
            return 0;
        });
        return cmd;
    }
}
