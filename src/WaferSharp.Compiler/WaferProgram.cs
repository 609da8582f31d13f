using System.Text.Json;
using System.Text.Json.Serialization;
using WaferSharp.Tensors.IO;

namespace WaferSharp.Compiler;

/// <summary>A rectangle of PEs: columns [X, X+W), rows [Y, Y+H).</summary>
public sealed record RegionRect(int X, int Y, int W, int H)
{
    /// <summary>PEs covered.</summary>
    [JsonIgnore] public long Pes => (long)W * H;
    /// <summary>True when the two rectangles share a PE.</summary>
    public bool Overlaps(RegionRect o) => X < o.X + o.W && o.X < X + W && Y < o.Y + o.H && o.Y < Y + H;
    /// <summary>True when (x, y) is inside.</summary>
    public bool Contains(int x, int y) => x >= X && x < X + W && y >= Y && y < Y + H;
}

/// <summary>The fabric a program was compiled for.</summary>
public sealed class FabricInfo
{
    /// <summary>Fabric width.</summary>
    public int Width { get; set; }
    /// <summary>Fabric height.</summary>
    public int Height { get; set; }
    /// <summary>The usable program rectangle (inside the memcpy halo).</summary>
    public RegionRect Program { get; set; } = new(0, 0, 0, 0);
    /// <summary>Live PEs of the program rectangle.</summary>
    public long UsablePes { get; set; }
    /// <summary>Dead PEs in the program rectangle.</summary>
    public long DefectivePes { get; set; }
    /// <summary>The dead PEs, as [x, y] (all of them; the simulator removes them).</summary>
    public List<int[]> DeadPes { get; set; } = new();
}

/// <summary>
/// A region: one rectangle of PEs owned by a placement group — the kernels that share resident data (a layer's
/// forward, backward and update kernels around its weights) and run time-multiplexed on it. In layer-pipelined
/// mode distinct regions never overlap; in weight-streaming mode every kernel uses the whole wafer in turn.
/// </summary>
public sealed class ProgramRegion
{
    /// <summary>Index in <see cref="WaferProgram.Regions"/>.</summary>
    public int Id { get; set; }
    /// <summary>Which system (wafer) of a multi-wafer inference mapping; 0 otherwise.</summary>
    public int System { get; set; }
    /// <summary>The rectangle.</summary>
    public RegionRect Rect { get; set; } = new(0, 0, 0, 0);
    /// <summary>Defect-free tiles covering the live PEs of the rectangle (one tile, the rectangle, when it has no dead PE).</summary>
    public List<RegionRect> Tiles { get; set; } = new();
    /// <summary>Kernel ids placed here, in schedule order.</summary>
    public List<int> Kernels { get; set; } = new();
    /// <summary>SRAM plan: resident bytes per PE (weights, gradients, optimizer state, stashed activations, KV cache).</summary>
    public long ResidentBytesPerPe { get; set; }
    /// <summary>SRAM plan: the largest kernel working set per PE (tiles, receive buffers, FIFOs).</summary>
    public long WorkingBytesPerPe { get; set; }
    /// <summary>SRAM plan: the region's resident bytes by kind (layer-pipelined; null in weight streaming).</summary>
    public ResidentBytes? Resident { get; set; }
    /// <summary>SRAM plan: code and runtime per PE.</summary>
    public long CodeBytesPerPe { get; set; }
    /// <summary>Total SRAM per PE (resident + working + code); never above the PE's SRAM.</summary>
    public long SramBytesPerPe { get; set; }
    /// <summary>Colors used inside the region by its kernels.</summary>
    public int KernelColors { get; set; }
    /// <summary>Cycles the region is busy per micro-batch (sum of its kernels; the pipeline stage time).</summary>
    public double StageCycles { get; set; }
}

/// <summary>One compiled kernel.</summary>
public sealed class ProgramKernel
{
    /// <summary>Index in <see cref="WaferProgram.Kernels"/> (also the schedule's issue order).</summary>
    public int Id { get; set; }
    /// <summary>Readable name (module scope and node).</summary>
    public string Name { get; set; } = "";
    /// <summary>Op(s) covered ("Linear", "Mul+Gelu", "Attention").</summary>
    public string Op { get; set; } = "";
    /// <summary>Kernel family (Gemm, Gemv, Elementwise, Reduction, Softmax, Norm, Attention, Embedding, OptimizerUpdate, Layout).</summary>
    public string Family { get; set; } = "";
    /// <summary>Mesh algorithm.</summary>
    public string Algorithm { get; set; } = "";
    /// <summary>forward, backward or optimizer.</summary>
    public string Phase { get; set; } = "";
    /// <summary>Region id.</summary>
    public int RegionId { get; set; }
    /// <summary>The region's rectangle.</summary>
    public RegionRect Region { get; set; } = new(0, 0, 0, 0);
    /// <summary>Sub-grid the kernel runs on, at the region's north-west corner: [w, h].</summary>
    public int[] Grid { get; set; } = [1, 1];
    /// <summary>Per-PE tiling.</summary>
    public string Tiling { get; set; } = "";
    /// <summary>Predicted cycles for the whole step's work (full batch, or per system in data parallel).</summary>
    public double Cycles { get; set; }
    /// <summary>Of which arithmetic.</summary>
    public double ComputeCycles { get; set; }
    /// <summary>Of which exposed communication.</summary>
    public double CommCycles { get; set; }
    /// <summary>Of which fixed latency (paid per micro-batch).</summary>
    public double FixedCycles { get; set; }
    /// <summary>Weight-streaming: cycles to stream this kernel's weights in (and gradients out).</summary>
    public double StreamCycles { get; set; }
    /// <summary>SRAM per PE while this kernel runs (its region's plan).</summary>
    public long SramBytesPerPe { get; set; }
    /// <summary>FLOPs (model FLOPs from the ops' cost rules).</summary>
    public double Flops { get; set; }
    /// <summary>Graph node ids covered.</summary>
    public List<int> Nodes { get; set; } = new();
    /// <summary>Kernel ids this one consumes values from.</summary>
    public List<int> Inputs { get; set; } = new();
    /// <summary>Schedule: start cycle of the first micro-batch (pipelined) or of the kernel (weight streaming).</summary>
    public double StartCycle { get; set; }
}

/// <summary>One lane of a route: a path through routers, split into colored segments (a software relay between segments).</summary>
public sealed class RouteLane
{
    /// <summary>Corner points [x, y] of the dimension-order path, source first (expand hop by hop between corners).</summary>
    public List<int[]> Path { get; set; } = new();
    /// <summary>Color of each segment.</summary>
    public List<int> Colors { get; set; } = new();
    /// <summary>Hop index (along the expanded path) where each segment after the first starts (a relay PE).</summary>
    public List<int> RelayAt { get; set; } = new();
    /// <summary>Hops.</summary>
    public int Hops { get; set; }
    /// <summary>32-bit wavelets per micro-batch this lane carries (its share of the route's words).</summary>
    public double Words { get; set; }
}

/// <summary>A producer→consumer route between two regions.</summary>
public sealed class ProgramRoute
{
    /// <summary>Producing kernel id.</summary>
    public int From { get; set; }
    /// <summary>Consuming kernel id.</summary>
    public int To { get; set; }
    /// <summary>The graph value carried (printed id and type).</summary>
    public string Value { get; set; } = "";
    /// <summary>32-bit wavelets per micro-batch.</summary>
    public double Words { get; set; }
    /// <summary>Parallel lanes.</summary>
    public List<RouteLane> Lanes { get; set; } = new();
    /// <summary>Cycles to deliver one micro-batch: the route's wavelets on its busiest link (words / lanes for disjoint lanes) + α·hops + β·relays.</summary>
    public double Cycles { get; set; }
}

/// <summary>The schedule: how kernels are issued.</summary>
public sealed class ProgramSchedule
{
    /// <summary>"pipeline" (all regions concurrently, micro-batches streaming) or "sequential" (one kernel on the whole wafer at a time).</summary>
    public string Kind { get; set; } = "";
    /// <summary>Micro-batches per step (pipelined).</summary>
    public int Microbatches { get; set; } = 1;
    /// <summary>Samples per micro-batch.</summary>
    public int MicrobatchSize { get; set; } = 1;
    /// <summary>Activation recomputation factor (weight streaming: keep every k-th activation; 1 = none).</summary>
    public int RecomputeSegments { get; set; } = 1;
    /// <summary>Pipelined: row (token) chunks a micro-batch streams through the regions in (1 = whole micro-batches).</summary>
    public int RowChunks { get; set; } = 1;
    /// <summary>Kernel ids in issue order.</summary>
    public List<int> Order { get; set; } = new();
}

/// <summary>The cost-model parameters a program was compiled with (so the simulator can calibrate them).</summary>
public sealed class CostModelInfo
{
    /// <summary>FMACs per PE per cycle at the compute precision.</summary>
    public int Lanes { get; set; }
    /// <summary>α, cycles per hop.</summary>
    public double Alpha { get; set; }
    /// <summary>β, cycles per relay.</summary>
    public double Beta { get; set; }
    /// <summary>Bytes per link per cycle.</summary>
    public double LinkBytesPerCycle { get; set; }
    /// <summary>SRAM read bytes per cycle per PE.</summary>
    public double SramReadBytesPerCycle { get; set; }
    /// <summary>SRAM write bytes per cycle per PE.</summary>
    public double SramWriteBytesPerCycle { get; set; }
    /// <summary>Kernel launch overhead.</summary>
    public double KernelOverheadCycles { get; set; }
    /// <summary>GEMM per-step overhead.</summary>
    public double StepOverheadCycles { get; set; }
    /// <summary>Clock.</summary>
    public double ClockHz { get; set; }
}

/// <summary>
/// The compiler's output: kernels with their mesh algorithm, region, tiling and SRAM plan; routes with colors; a
/// schedule; and the predicted step time. Serializes to JSON (snake_case) and back.
/// </summary>
public sealed class WaferProgram
{
    /// <summary>Device preset name.</summary>
    public string Device { get; set; } = "";
    /// <summary>"layer-pipelined" or "weight-streaming".</summary>
    public string Mode { get; set; } = "";
    /// <summary>Why this mode (and, with --mode auto, why not the other).</summary>
    public string ModeReason { get; set; } = "";
    /// <summary>"train" or "inference".</summary>
    public string Task { get; set; } = "";
    /// <summary>bf16, fp16 or fp32.</summary>
    public string Precision { get; set; } = "";
    /// <summary>Samples per step (global batch).</summary>
    public int BatchSize { get; set; }
    /// <summary>Sequence length (null for models without one).</summary>
    public int? SeqLen { get; set; }
    /// <summary>Systems the program runs on.</summary>
    public int Systems { get; set; } = 1;
    /// <summary>Systems needed to hold the model (inference mapping; for training 1 or the data-parallel count).</summary>
    public int SystemsNeeded { get; set; } = 1;
    /// <summary>The fabric.</summary>
    public FabricInfo Fabric { get; set; } = new();
    /// <summary>PEs inside regions.</summary>
    public long PesUsed { get; set; }
    /// <summary>The highest SRAM use of any PE.</summary>
    public long SramBytesMaxPerPe { get; set; }
    /// <summary>Predicted cycles of one step on the device (inputs resident).</summary>
    public double StepCycles { get; set; }
    /// <summary>Step time (cycles / clock).</summary>
    public double StepTimeS { get; set; }
    /// <summary>Host transfer of the step's inputs and outputs, reported apart from the step time.</summary>
    public double HostIoS { get; set; }
    /// <summary>Samples per second.</summary>
    public double SamplesPerS { get; set; }
    /// <summary>Tokens per second (models with a sequence).</summary>
    public double? TokensPerS { get; set; }
    /// <summary>Achieved model TFLOP/s (graph FLOPs / step time).</summary>
    public double Tflops { get; set; }
    /// <summary>Fraction of the systems' dense peak at the precision.</summary>
    public double Utilization { get; set; }
    /// <summary>Peak TFLOP/s of the systems used.</summary>
    public double PeakTflops { get; set; }
    /// <summary>What limits the step.</summary>
    public string Bottleneck { get; set; } = "";
    /// <summary>Model FLOPs per step.</summary>
    public double StepFlops { get; set; }
    /// <summary>Weight-streaming: bytes streamed in (weights) and out (gradients) per step per system.</summary>
    public double WeightStreamBytes { get; set; }
    /// <summary>Inference: prompt tokens per second per sequence.</summary>
    public double? PrefillTokensPerS { get; set; }
    /// <summary>Inference: generated tokens per second per sequence, at the batch size.</summary>
    public double? DecodeTokensPerS { get; set; }
    /// <summary>Inference: KV cache bytes on the wafers.</summary>
    public double? KvCacheBytes { get; set; }
    /// <summary>Layer-pipelined: resident SRAM of all regions by kind (weights, master copies, optimizer state, gradient accumulators, stash, KV cache).</summary>
    public ResidentBytes? Resident { get; set; }
    /// <summary>Highest wavelets per micro-batch on any link.</summary>
    public double LinkLoadMax { get; set; }
    /// <summary>Highest number of colors any router uses (kernel-internal + routes + reserved).</summary>
    public int ColorsMaxPerPe { get; set; }
    /// <summary>Software relays over all routes.</summary>
    public int Relays { get; set; }
    /// <summary>Cost-model parameters.</summary>
    public CostModelInfo CostModel { get; set; } = new();
    /// <summary>The schedule.</summary>
    public ProgramSchedule Schedule { get; set; } = new();
    /// <summary>Regions.</summary>
    public List<ProgramRegion> Regions { get; set; } = new();
    /// <summary>Kernels in schedule order.</summary>
    public List<ProgramKernel> Kernels { get; set; } = new();
    /// <summary>Routes between regions.</summary>
    public List<ProgramRoute> Routes { get; set; } = new();
    /// <summary>Notes (assumptions, recomputation, off-wafer optimizer…).</summary>
    public List<string> Notes { get; set; } = new();

    /// <summary>JSON options: snake_case names, nulls omitted.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    /// <summary>The program as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a program written by <see cref="ToJson"/>.</summary>
    public static WaferProgram FromJson(string json) =>
        JsonSerializer.Deserialize<WaferProgram>(json, JsonOptions) ?? throw new InvalidDataException("empty wafer program JSON");

    /// <summary>Writes the JSON atomically (temp file, then rename).</summary>
    public void Save(string path)
    {
        AtomicFile.Write(path, f => JsonSerializer.Serialize(f, this, JsonOptions));
    }
}
