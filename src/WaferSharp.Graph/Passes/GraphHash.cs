using System.Security.Cryptography;
using System.Text;

namespace WaferSharp.Graph.Passes;

/// <summary>
/// A stable structural hash of a graph, for compile caches: lowercase hex SHA-256 of the printed form
/// (<see cref="GraphPrinter"/>, which renumbers values and so ignores internal ids) followed by every constant's
/// dtype, shape and raw bits. Equal graphs hash equal across processes and machines (little-endian).
/// </summary>
public static class GraphHash
{
    /// <summary>Computes the hash.</summary>
    public static string Compute(Graph g)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Encoding.UTF8.GetBytes(GraphPrinter.Print(g)));
        foreach (var c in g.ConstantList)
        {
            h.AppendData(Encoding.UTF8.GetBytes($"\nconst-bits {c.Type}:"));
            if (c.Data is null) { h.AppendData("<none>"u8); continue; }
            h.AppendData(CommonSubexpressionElimination.RawBytes(c.Data));
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }
}
