namespace WaferSharp.Gpu;

/// <summary>
/// Ring collective times (Thakur, Rabenseifner &amp; Gropp 2005; NCCL's bus-bandwidth convention): n ranks,
/// <c>bytes</c> the full buffer size, <c>bandwidth</c> the per-rank link rate each way (already derated).
/// </summary>
public static class Collectives
{
    /// <summary>All-reduce: 2(n−1)/n · S/B + 2(n−1)·α.</summary>
    public static double AllReduce(double bytes, int n, double bandwidth, double latency) =>
        n <= 1 ? 0 : 2.0 * (n - 1) / n * bytes / bandwidth + 2.0 * (n - 1) * latency;

    /// <summary>Reduce-scatter (equal to all-gather): (n−1)/n · S/B + (n−1)·α.</summary>
    public static double ReduceScatter(double bytes, int n, double bandwidth, double latency) =>
        n <= 1 ? 0 : (double)(n - 1) / n * bytes / bandwidth + (n - 1) * latency;

    /// <summary>All-gather of a buffer whose gathered size is <paramref name="bytes"/>.</summary>
    public static double AllGather(double bytes, int n, double bandwidth, double latency) => ReduceScatter(bytes, n, bandwidth, latency);

    /// <summary>Point-to-point send of <paramref name="bytes"/>.</summary>
    public static double PointToPoint(double bytes, double bandwidth, double latency) => bytes / bandwidth + latency;

    /// <summary>
    /// Bandwidth and latency of a group of <paramref name="n"/> ranks placed <paramref name="stride"/> apart in
    /// the rank order (TP innermost, then DP, then PP, as Megatron-LM orders them). Inside one node the ring runs on
    /// NVLink. Across nodes, the k members sharing a node each drive their own NIC, so NCCL's rings (one per NIC)
    /// reach k NICs' worth of bus bandwidth per rank, capped by NVLink.
    /// </summary>
    public static (double Bandwidth, double Latency) Link(ClusterSpec c, int n, int stride)
    {
        double nvl = c.Gpu.NvlinkBandwidth * c.NvlinkEfficiency;
        if ((long)n * stride <= c.GpusPerNode) return (nvl, c.NvlinkLatency);
        int perNode = stride >= c.GpusPerNode ? 1 : Math.Min(n, c.GpusPerNode / stride);
        return (Math.Min(nvl, perNode * c.Gpu.NicBandwidth * c.NicEfficiency), c.NicLatency);
    }
}
