using System.Runtime.InteropServices;
using WaferSharp.Tensors;

namespace WaferSharp.Fabric;

/// <summary>
/// The handle a task body (or <see cref="PeProgram.Setup"/>) gets for the PE it runs on: its coordinates, its SRAM,
/// task control (activate/block/unblock), routes and vector instructions. Synchronous instructions advance the PE's
/// clock (<see cref="Now"/>); asynchronous ones (<c>Start*</c>) run on a microthread and signal a
/// <see cref="Completion"/>. Instructions with a fabric operand must be asynchronous.
/// </summary>
public readonly struct Pe
{
    private readonly FabricSimulator _sim;

    internal Pe(FabricSimulator sim, int id) { _sim = sim; Id = id; }

    /// <summary>Linear PE id (y · width + x).</summary>
    public int Id { get; }
    /// <summary>Fabric x (column).</summary>
    public int X => Id % _sim.Width;
    /// <summary>Fabric y (row).</summary>
    public int Y => Id / _sim.Width;
    /// <summary>x inside the program's region.</summary>
    public int Lx => X - _sim.ProgramOf(Id).Region.X;
    /// <summary>y inside the program's region.</summary>
    public int Ly => Y - _sim.ProgramOf(Id).Region.Y;
    /// <summary>The PE's clock: the cycle at which its next instruction issues.</summary>
    public long Now => _sim.Cursor;
    /// <summary>The simulator.</summary>
    public FabricSimulator Fabric => _sim;

    /// <summary>
    /// SRAM as float32: <paramref name="count"/> elements from byte <paramref name="address"/> (allocated on first touch).
    /// The simulator grows a PE's SRAM lazily, so a span stays valid until an access beyond the PE's highest address so
    /// far; take the highest view first when holding several.
    /// </summary>
    public Span<float> F32(int address, int count) => MemoryMarshal.Cast<byte, float>(_sim.Sram(Id, address, count * 4));
    /// <summary>SRAM as 16-bit words (fp16/bf16 bits).</summary>
    public Span<ushort> U16(int address, int count) => MemoryMarshal.Cast<byte, ushort>(_sim.Sram(Id, address, count * 2));

    /// <summary>Activates local task <paramref name="task"/>.</summary>
    public void Activate(int task) => _sim.SetTaskBit(Id, 32 + task, active: true);
    /// <summary>Blocks local task <paramref name="task"/> (it stays activated but does not run).</summary>
    public void Block(int task) => _sim.SetBlock(Id, 32 + task, true);
    /// <summary>Unblocks local task <paramref name="task"/>.</summary>
    public void Unblock(int task) => _sim.SetBlock(Id, 32 + task, false);
    /// <summary>Blocks the data task of <paramref name="color"/>: wavelets wait in the queue.</summary>
    public void BlockColor(int color) => _sim.SetBlock(Id, color, true);
    /// <summary>Unblocks the data task of <paramref name="color"/>.</summary>
    public void UnblockColor(int color) => _sim.SetBlock(Id, color, false);

    /// <summary>Sets this PE's route for <paramref name="color"/> (at run time this is a switch change costing <see cref="FabricOptions.RouteCycles"/>).</summary>
    public void SetRoute(int color, Ports rx, Ports tx) => _sim.SetRouteAt(Id, color, rx, tx, fromTask: true);

    /// <summary>Runs a memory-only vector instruction synchronously.</summary>
    public void Exec(VecOp op, Dsd dest, Dsd a, Dsd b = default) => _sim.Issue(Id, op, dest, a, b, async: false, Completion.None);

    /// <summary>Starts a vector instruction asynchronously; <paramref name="done"/> fires when its last element is written.</summary>
    public void Start(VecOp op, Dsd dest, Dsd a, Dsd b, Completion done) => _sim.Issue(Id, op, dest, a, b, async: true, done);

    /// <summary>Starts a vector instruction with one source asynchronously.</summary>
    public void Start(VecOp op, Dsd dest, Dsd a, Completion done) => _sim.Issue(Id, op, dest, a, default, async: true, done);

    /// <summary>
    /// C[m×n] (float32) += A[m×k] · B[k×n] from SRAM, as one 4-D DSD FMAC loop: ⌈m·k·n / SIMD⌉ cycles, synchronous.
    /// </summary>
    public void Gemm(int c, int a, int b, int m, int k, int n, DType type = DType.Float32) => _sim.IssueGemm(Id, c, a, b, m, k, n, type, async: false, Completion.None);

    /// <summary>Asynchronous <see cref="Gemm"/>.</summary>
    public void StartGemm(int c, int a, int b, int m, int k, int n, DType type, Completion done) => _sim.IssueGemm(Id, c, a, b, m, k, n, type, async: true, done);

    /// <summary>Spends <paramref name="cycles"/> of scalar work (loop control, address arithmetic).</summary>
    public void Spend(int cycles) => _sim.Spend(cycles);
}
