using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using WaferSharp.Hardware;
using WaferSharp.Tensors;

namespace WaferSharp.Fabric;

/// <summary>
/// Cycle-level simulator of a W × H mesh of PEs. Each PE has lazily allocated SRAM, a task scheduler (data tasks
/// fired by wavelets on a color, local tasks, activate/block), synchronous and asynchronous vector instructions, and a
/// 5-port router with per-color static routes (multicast), per-color input buffers of <see cref="FabricOptions.BufferDepth"/>
/// wavelets with back-pressure, one 32-bit wavelet per link per cycle and one cycle per hop.
/// <para>
/// Time advances cycle by cycle only while wavelets are in flight or fabric instructions are moving; otherwise it jumps
/// to the next event (a task ending, an instruction completing), so long vector instructions and idle PEs cost one event.
/// Everything is processed in a fixed order, so a program gives the same cycles and bits on every run.
/// </para>
/// State is struct-of-arrays: per PE a few words, per used (PE, color) channel two small ring buffers, so a
/// wse3-sized fabric fits in a few hundred MB.
/// </summary>
public sealed partial class FabricSimulator
{
    /// <summary>Routable colors per router.</summary>
    public const int Colors = 24;
    private const int NoChannel = -1;

    private readonly int _depth, _mask;
    private readonly FabricOptions _o;
    private readonly int _n;

    // per PE
    private readonly byte[]?[] _sram;
    private readonly nint[] _sramBase;  // address of each PE's (pinned) SRAM, so the per-element step never touches the array object
    private readonly long[] _busyUntil;
    private readonly ulong[] _active;   // bit c < 24: unused; bit 32+id: local task activated
    private readonly ulong[] _blocked;  // bit c: data task of color c blocked; bit 32+id: local task blocked
    private readonly short[] _prog;     // program index + 1 (0 = no program)
    private readonly uint[] _pend;      // colors with wavelets in this router's input buffers
    private readonly ulong[] _actBits;  // routers with wavelets waiting: one bit per PE, visited in PE order
    private readonly ulong[] _actTop;   // one bit per non-zero word of _actBits
    private readonly byte[] _inSched;   // PE in the schedule list
    private readonly int[] _injUsed;    // last cycle the ramp carried a wavelet from the CE into the router
    private readonly Link[] _links;     // (pe·5 + port): output links
    private readonly int[]?[] _chan = new int[Colors][]; // per color, per PE: channel index + 1

    // per channel (a (PE, color) pair with a route)
    private int _nch, _chCap;
    // one struct per channel, so a router or instruction step touches one cache line of channel state, not a dozen arrays
    private Chan[] _chs = [];
    private RbSlot[] _rb = [];  // router input buffer slots, _depth per channel
    private CqSlot[] _cq = [];  // compute-engine input queue slots, _depth per channel

    private struct Chan
    {
        public byte Rx, Tx, RbHead, RbCount, CqHead, CqCount, CeBusy, PendRx, PendTx;
        public byte CqDone, SinkHeld;   // leading CE-queue entries already consumed by the stream sink; each leaves at its slot's Ready (its pop cycle)
        public int Sink;      // stream sink (op id + 1) consuming wavelets as the router delivers them; 0: none
        public int LastPop;   // cycle of the sink's latest pop
        public int SinkOff, SinkStep, SinkLeft; // a copying sink: SRAM byte offset of its next element, bytes per element, elements left
        public byte SinkCopy; // a copying sink (a Mov between equal types) stores the payload's 4 or 2 bytes as they are; 0: computes
        public int WaitOp, Pe, PendPops;
        public int PopAt; // cycle of the last pop from the router buffer: its slot is credited upstream the next cycle
        public Int4 Nbr; // per port: the same color's channel on the neighbour behind it, + 1 (0: not looked up yet)
    }

    [InlineArray(4)]
    private struct Int4 { private int _e; }

    private struct Link
    {
        public int Used;  // last cycle the link carried a wavelet
        public int Count; // wavelets that left through it
    }

    private struct RbSlot { public uint Pay; public int Ready; public byte Port; }
    private struct CqSlot { public uint Pay; public int Ready; }

    // fabric instructions in flight
    private struct FabOp
    {
        public int Pe, ChA, ChB, ChD, Index, Length, DColor;
        public Operand A, B, D;
        public VecOp Op;
        public Completion Done;
        public byte State; // 0 free, 1 active list, 2 parked, 3 waiting to start, 4 stream sink
        public bool IsSink;
    }

    // a DSD flattened for the per-element step: byte offset of element 0 and bytes per element step
    private struct Operand
    {
        public int Off, Step;
        public float Value;
        public DsdKind Kind;
        public DType Type;

        public static Operand Of(in Dsd d) => new()
        {
            Off = d.Address, Step = d.Stride * (d.Type == DType.Float32 ? 4 : 2), Value = d.Value, Kind = d.Kind, Type = d.Type,
        };
    }
    private FabOp[] _ops = new FabOp[64];
    private int _opCount;
    private readonly Stack<int> _freeOps = new();
    private int[] _actOps = new int[64];
    private int _actOpCount;

    private int _actRCount;             // bits set in _actBits
    private int[] _sched = new int[64], _sched2 = new int[64];
    private int _schedCount;

    private readonly EventQueue _events = new();
    private long _seq;
    private readonly List<PeProgram> _programs = new();

    private long _now;
    private long _routerMoves;
    private int _stuckCycles;
    private int _curPe = -1;
    private long _cursor;

    // statistics
    private double _fmacs;
    private long _lastActivity, _busyCycles, _stalls, _rxWaits, _waveletHops, _tasks, _events0;
    private int _peakBuffer;
    private readonly List<TraceSpan> _spans = new();
    private readonly List<PhaseSpan> _phases = new();

    /// <summary>A fabric for <paramref name="spec"/>; PEs in <paramref name="defects"/> are absent (no route may touch them).</summary>
    public FabricSimulator(WaferSpec spec, DefectMap? defects = null, FabricOptions? options = null)
    {
        Spec = spec;
        Width = spec.Width; Height = spec.Height;
        Defects = defects;
        if (defects != null && (defects.Width != Width || defects.Height != Height))
            throw new ArgumentException($"defect map is for {defects.Width}x{defects.Height} but the fabric is {Width}x{Height}");
        _o = options ?? new FabricOptions();
        _depth = _o.BufferDepth;
        if (_depth < 1 || _depth > 64 || (_depth & (_depth - 1)) != 0) throw new ArgumentException("BufferDepth must be a power of two in 1…64");
        _mask = _depth - 1;
        _n = checked(Width * Height);
        _sram = new byte[]?[_n];
        _sramBase = new nint[_n];
        _busyUntil = new long[_n];
        _active = new ulong[_n];
        _blocked = new ulong[_n];
        _prog = new short[_n];
        _pend = new uint[_n];
        _actBits = new ulong[(_n + 63) >> 6];
        _actTop = new ulong[(_actBits.Length + 63) >> 6];
        InitSplit();
        _inSched = new byte[_n];
        _injUsed = new int[_n];
        _links = new Link[_n * 5];
        Array.Fill(_injUsed, -1);
        Array.Fill(_links, new Link { Used = -1 });
    }

    /// <summary>The wafer.</summary>
    public WaferSpec Spec { get; }
    /// <summary>Dead PEs (null: none).</summary>
    public DefectMap? Defects { get; }
    /// <summary>Fabric width.</summary>
    public int Width { get; }
    /// <summary>Fabric height.</summary>
    public int Height { get; }
    /// <summary>Options.</summary>
    public FabricOptions Options => _o;
    /// <summary>The current cycle.</summary>
    public long Now => _now;
    internal long Cursor => _cursor;

    /// <summary>True when (x, y) is outside the fabric or dead.</summary>
    public bool IsDead(int x, int y) => (uint)x >= (uint)Width || (uint)y >= (uint)Height || (Defects?.IsDead(x, y) ?? false);

    internal PeProgram ProgramOf(int pe) => _prog[pe] > 0 ? _programs[_prog[pe] - 1] : throw new InvalidOperationException($"PE ({pe % Width}, {pe / Width}) runs no program");

    /// <summary>A handle on PE (x, y), e.g. to place inputs in its SRAM before a run or read results after.</summary>
    public Pe PeAt(int x, int y)
    {
        if (IsDead(x, y)) throw new ArgumentException($"PE ({x}, {y}) is dead or outside the {Width}x{Height} fabric");
        return new Pe(this, y * Width + x);
    }

    /// <summary>
    /// Loads <paramref name="program"/> on every live PE of <paramref name="region"/> and runs its <see cref="PeProgram.Setup"/>.
    /// Regions of different programs must not overlap while both run.
    /// </summary>
    public void Load(PeProgram program, Region region)
    {
        if (region.X < 0 || region.Y < 0 || region.Width < 1 || region.Height < 1 || region.X + region.Width > Width || region.Y + region.Height > Height)
            throw new ArgumentException($"region {region} does not fit the {Width}x{Height} fabric");
        if (_programs.Count >= short.MaxValue - 1) throw new InvalidOperationException("too many programs loaded");
        program.Region = region;
        _programs.Add(program);
        short id = (short)_programs.Count;
        for (int y = region.Y; y < region.Y + region.Height; y++)
            for (int x = region.X; x < region.X + region.Width; x++)
            {
                if (IsDead(x, y)) continue;
                int pe = y * Width + x;
                _prog[pe] = id;
                _active[pe] = 0; _blocked[pe] = 0;
            }
        long saved = _cursor; int savedPe = _curPe;
        for (int y = region.Y; y < region.Y + region.Height; y++)
            for (int x = region.X; x < region.X + region.Width; x++)
            {
                if (IsDead(x, y)) continue;
                int pe = y * Width + x;
                _curPe = pe; _cursor = _now;
                program.Setup(new Pe(this, pe));
                Sched(pe);
            }
        _cursor = saved; _curPe = savedPe;
    }

    // ---------------------------------------------------------------- SRAM

    internal unsafe Span<byte> Sram(int pe, int address, int bytes)
    {
        int need = address + bytes;
        if (address < 0 || need > Spec.PeSramBytes)
            throw new InvalidOperationException($"PE ({pe % Width}, {pe / Width}): SRAM access [{address}, {need}) exceeds its {Spec.PeSramBytes} bytes");
        var m = _sram[pe];
        if (m == null || m.Length < need)
        {
            int size = Math.Min(Spec.PeSramBytes, Math.Max((need + 63) & ~63, m == null ? 0 : 2 * m.Length));
            var grown = GC.AllocateArray<byte>(size, pinned: true);
            m?.CopyTo(grown, 0);
            m = grown;
            _sram[pe] = m;
            _sramBase[pe] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(m));
        }
        return m.AsSpan(address, bytes);
    }

    /// <summary>SRAM bytes allocated over the fabric (lazily, up to each PE's highest address touched).</summary>
    public long SramBytesAllocated { get { long s = 0; foreach (var m in _sram) s += m?.Length ?? 0; return s; } }

    // ---------------------------------------------------------------- routes and channels

    /// <summary>Sets the route of <paramref name="color"/> on PE (x, y) before a run (load time, no cycles).</summary>
    public void SetRoute(int x, int y, int color, Ports rx, Ports tx)
    {
        if (IsDead(x, y)) throw new ArgumentException($"route on color {color}: PE ({x}, {y}) is dead or outside the fabric");
        SetRouteAt(y * Width + x, color, rx, tx, fromTask: false);
    }

    internal void SetRouteAt(int pe, int color, Ports rx, Ports tx, bool fromTask)
    {
        if ((uint)color >= Colors) throw new ArgumentOutOfRangeException(nameof(color), $"color {color} must be 0…{Colors - 1}");
        int x = pe % Width, y = pe / Width;
        for (int p = 0; p < 4; p++)
        {
            var bit = (Ports)(1 << p);
            if (((rx | tx) & bit) == 0) continue;
            int nx = x + (p == PortIndex.East ? 1 : p == PortIndex.West ? -1 : 0), ny = y + (p == PortIndex.South ? 1 : p == PortIndex.North ? -1 : 0);
            if (IsDead(nx, ny))
                throw new InvalidOperationException($"route on color {color} at PE ({x}, {y}) uses the {bit} link to ({nx}, {ny}), which is dead or off the fabric");
        }
        int ch = Channel(pe, color, create: true);
        // a switch change applies after the wavelets queued for the old route have left: the leading ones its rx accepts
        // (a wavelet from a port it does not accept already belongs to the new route)
        int old = 0;
        while (old < _chs[ch].RbCount && (_chs[ch].Rx & (1 << _rb[ch * _depth + ((_chs[ch].RbHead + old) & _mask)].Port)) != 0) old++;
        if (fromTask && old > 0)
        {
            _chs[ch].PendPops = (byte)old; _chs[ch].PendRx = (byte)rx; _chs[ch].PendTx = (byte)tx;
        }
        else { _chs[ch].Rx = (byte)rx; _chs[ch].Tx = (byte)tx; _chs[ch].PendPops = 0; }
        if (fromTask && _curPe == pe) _cursor += _o.RouteCycles;
        if (_chs[ch].RbCount > 0) ActivateRouter(pe); // a waiting wavelet may now match the new route
    }

    /// <summary>The route (rx, tx) of a color on a PE; (None, None) when unset.</summary>
    public (Ports Rx, Ports Tx) RouteOf(int x, int y, int color)
    {
        int ch = Channel(y * Width + x, color, create: false);
        return ch < 0 ? (Ports.None, Ports.None) : ((Ports)_chs[ch].Rx, (Ports)_chs[ch].Tx);
    }

    private int Channel(int pe, int color, bool create)
    {
        var map = _chan[color];
        if (map == null)
        {
            if (!create) return NoChannel;
            map = _chan[color] = new int[_n];
        }
        int c = map[pe] - 1;
        if (c >= 0 || !create) return c;
        if (_nch == _chCap) GrowChannels();
        c = _nch++;
        map[pe] = c + 1;
        _chs[c].Pe = pe;
        _chs[c].WaitOp = -1;
        _chs[c].PopAt = -1;
        return c;
    }

    private void GrowChannels()
    {
        int cap = Math.Max(256, _chCap * 2);
        Array.Resize(ref _chs, cap);
        Array.Resize(ref _rb, cap * _depth);
        Array.Resize(ref _cq, cap * _depth);
        _chCap = cap;
    }

    // ---------------------------------------------------------------- tasks

    internal void SetTaskBit(int pe, int bit, bool active)
    {
        if (active) _active[pe] |= 1UL << bit; else _active[pe] &= ~(1UL << bit);
        if (pe != _curPe) Sched(pe);
    }

    internal void SetBlock(int pe, int bit, bool blocked)
    {
        if (blocked) _blocked[pe] |= 1UL << bit; else _blocked[pe] &= ~(1UL << bit);
        if (!blocked && pe != _curPe) Sched(pe);
    }

    internal void Spend(int cycles) => _cursor += Math.Max(0, cycles);

    private void Sched(int pe)
    {
        if (_inSched[pe] != 0) return;
        _inSched[pe] = 1;
        if (_schedCount == _sched.Length) Array.Resize(ref _sched, _sched.Length * 2);
        _sched[_schedCount++] = pe;
    }

    private void Event(long time, int kind, int pe, int arg) => _events.Enqueue(EventPayload(kind, pe, arg), time, _seq++);

    private static long EventPayload(int kind, int pe, int arg) => ((long)kind << 56) | ((long)arg << 32) | (uint)pe;

    private void TrySchedule(int pe)
    {
        if (_busyUntil[pe] > _now || _prog[pe] == 0) return;
        var prog = _programs[_prog[pe] - 1];
        ulong ready = _active[pe] & ~_blocked[pe];
        bool retry = false;
        for (uint colors = prog.DataTaskMask & ~(uint)_blocked[pe]; colors != 0; colors &= colors - 1)
        {
            int c = BitOperations.TrailingZeroCount(colors);
            int ch = Channel(pe, c, create: false);
            if (ch < 0 || _chs[ch].CqCount == 0 || _chs[ch].CeBusy != 0) continue;
            if (_cq[ch * _depth + _chs[ch].CqHead].Ready > _now) { retry = true; continue; }
            ready |= 1UL << c;
        }
        if (ready == 0) { if (retry) Sched(pe); return; }
        int bit = BitOperations.TrailingZeroCount(ready);
        _curPe = pe;
        long start = _now;
        _cursor = _now + _o.TaskStartCycles;
        var h = new Pe(this, pe);
        if (bit < 32)
        {
            int ch = Channel(pe, bit, create: false);
            uint w = CqPop(ch);
            prog.DataTasks[bit]!(h, w);
        }
        else
        {
            _active[pe] &= ~(1UL << bit);
            prog.LocalTasks[bit - 32]!(h);
        }
        _curPe = -1;
        _busyUntil[pe] = _cursor;
        _busyCycles += _cursor - start;
        _tasks++;
        if (_o.Trace && _spans.Count < _o.MaxTraceSpans) _spans.Add(new TraceSpan(pe, start, _cursor, prog.TaskNames[bit] ?? "task", prog.Name));
        Event(_cursor, 0, pe, 0);
    }

    // ---------------------------------------------------------------- instructions

    internal void Issue(int pe, VecOp op, Dsd d, Dsd a, Dsd b, bool async, Completion done)
    {
        if (_curPe != pe) throw new InvalidOperationException("vector instructions can only be issued from a task running on that PE");
        _cursor += _o.IssueCycles;
        bool fabric = d.IsFabric || a.IsFabric || b.IsFabric;
        if (d.Kind is DsdKind.FabricIn || a.Kind == DsdKind.FabricOut || b.Kind == DsdKind.FabricOut || d.Kind is DsdKind.Scalar or DsdKind.None)
            throw new ArgumentException($"{op}: the destination must be memory or a fabric output and sources memory, fabric inputs or scalars");
        int len = d.Length;
        if (len <= 0) throw new ArgumentException($"{op}: destination length must be positive");
        if (!fabric)
        {
            ExecMemory(pe, op, d, a, b, len);
            long cyc = MemoryCycles(op, d, a, b, len);
            if (op == VecOp.Fma) _fmacs += len * (double)Spec.Simd32 / Simd(d.Type);
            if (async) { _busyCycles += cyc; Complete(pe, done, _cursor + cyc); }
            else _cursor += cyc;
            return;
        }
        if (!async) throw new InvalidOperationException($"{op}: instructions with a fabric operand must be started asynchronously (Pe.Start)");
        int i = NewOp();
        ref var o = ref _ops[i];
        o.Pe = pe; o.Op = op; o.D = Operand.Of(d); o.A = Operand.Of(a); o.B = Operand.Of(b); o.DColor = d.Color; o.Done = done; o.Index = 0; o.Length = len;
        o.ChA = a.Kind == DsdKind.FabricIn ? RequireChannel(pe, a.Color, "receive") : NoChannel;
        o.ChB = b.Kind == DsdKind.FabricIn ? RequireChannel(pe, b.Color, "receive") : NoChannel;
        o.ChD = d.Kind == DsdKind.FabricOut ? RequireChannel(pe, d.Color, "send") : NoChannel;
        if (o.ChA >= 0 && _chs[o.ChA].SinkHeld != 0 || o.ChB >= 0 && _chs[o.ChB].SinkHeld != 0)
            throw new InvalidOperationException($"{op} on PE ({pe % Width}, {pe / Width}): another instruction is still receiving on color {(o.ChA >= 0 && _chs[o.ChA].SinkHeld != 0 ? a.Color : b.Color)}; wait for its completion before starting a second one on the same color");
        // a receive into memory whose only fabric operand is one input stream pops each wavelet at a cycle fixed by its
        // arrival alone, so the router completes it on delivery instead of the instruction being stepped every cycle
        o.IsSink = o.ChA >= 0 && o.ChB < 0 && o.ChD < 0 && _chs[o.ChA].CeBusy == 0;
        if (o.IsSink) _chs[o.ChA].SinkHeld = 1;
        if (o.ChA >= 0) _chs[o.ChA].CeBusy++;
        if (o.ChB >= 0) _chs[o.ChB].CeBusy++;
        o.State = 3;
        foreach (var m in (ReadOnlySpan<Dsd>)[d, a, b])
            if (m.Kind == DsdKind.Memory && len > 0)
            {
                // the element step reads 4 bytes for float32 and 2 otherwise, unchecked (see StepOp)
                if (m.Type is not (DType.Float32 or DType.Float16 or DType.BFloat16))
                    throw new ArgumentException($"{op}: fabric instructions move float32, float16 or bfloat16, not {m.Type}");
                int es = m.Type.Size();
                int lo = Math.Min(m.Address, m.Address + (len - 1) * m.Stride * es), hi = Math.Max(m.Address, m.Address + (len - 1) * m.Stride * es);
                Sram(pe, lo, hi - lo + es);
            }
        if (_sram[pe] == null) Sram(pe, 0, 1);
        Event(_cursor, 2, pe, i);
    }

    private int RequireChannel(int pe, int color, string what)
    {
        int ch = Channel(pe, color, create: false);
        if (ch < 0) throw new InvalidOperationException($"PE ({pe % Width}, {pe / Width}) cannot {what} on color {color}: it has no route for that color");
        return ch;
    }

    // max(SIMD passes, SRAM read port, SRAM write port); stride-0 operands sit in a register and cost no SRAM traffic
    private long MemoryCycles(VecOp op, in Dsd d, in Dsd a, in Dsd b, int len)
    {
        int simd = Simd(d.Type);
        long compute = (len + simd - 1) / simd * (op is VecOp.Exp or VecOp.Rsqrt or VecOp.Sqrt or VecOp.Div ? _o.TranscendentalCost : 1);
        long reads = 0, writes = 0;
        if (a.Kind == DsdKind.Memory && a.Stride != 0) reads += (long)len * a.Type.Size();
        if (b.Kind == DsdKind.Memory && b.Stride != 0) reads += (long)len * b.Type.Size();
        if (d.Stride != 0)
        {
            writes = (long)len * d.Type.Size();
            if (op == VecOp.Fma) reads += writes;
        }
        long r = (reads + Spec.SramReadBytesPerCycle - 1) / Spec.SramReadBytesPerCycle;
        long w = (writes + Spec.SramWriteBytesPerCycle - 1) / Spec.SramWriteBytesPerCycle;
        return Math.Max(compute, Math.Max(r, w));
    }

    internal void IssueGemm(int pe, int c, int a, int b, int m, int k, int n, DType type, bool async, Completion done)
    {
        if (_curPe != pe) throw new InvalidOperationException("vector instructions can only be issued from a task running on that PE");
        _cursor += _o.IssueCycles;
        int es = type.Size();
        Sram(pe, Math.Max(c + m * n * 4, Math.Max(a + m * k * es, b + k * n * es)) - 1, 1); // grow once, before taking spans
        var C = MemoryMarshal.Cast<byte, float>(Sram(pe, c, m * n * 4));
        if (type == DType.Float32)
        {
            var A = MemoryMarshal.Cast<byte, float>(Sram(pe, a, m * k * 4));
            var B = MemoryMarshal.Cast<byte, float>(Sram(pe, b, k * n * 4));
            TileGemm(C, A, B, m, k, n);
        }
        else
        {
            var A16 = MemoryMarshal.Cast<byte, ushort>(Sram(pe, a, m * k * 2));
            var B16 = MemoryMarshal.Cast<byte, ushort>(Sram(pe, b, k * n * 2));
            var A = new float[m * k]; var B = new float[k * n];
            for (int i = 0; i < A.Length; i++) A[i] = Load16(A16[i], type);
            for (int i = 0; i < B.Length; i++) B[i] = Load16(B16[i], type);
            TileGemm(C, A, B, m, k, n);
        }
        long macs = (long)m * k * n;
        _fmacs += macs * (double)Spec.Simd32 / Simd(type); // in fp32-lane units, so utilization is against the dtype's peak
        long cyc = (macs + Simd(type) - 1) / Simd(type);
        if (async) { _busyCycles += cyc; Complete(pe, done, _cursor + cyc); }
        else _cursor += cyc;
    }

    private static void TileGemm(Span<float> C, ReadOnlySpan<float> A, ReadOnlySpan<float> B, int m, int k, int n)
    {
        for (int i = 0; i < m; i++)
        {
            var crow = C.Slice(i * n, n);
            for (int kk = 0; kk < k; kk++)
            {
                float aik = A[i * k + kk];
                var brow = B.Slice(kk * n, n);
                int j = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    var va = new Vector<float>(aik);
                    var cv = MemoryMarshal.Cast<float, Vector<float>>(crow);
                    var bv = MemoryMarshal.Cast<float, Vector<float>>(brow);
                    for (int v = 0; v < cv.Length; v++) cv[v] += va * bv[v];
                    j = cv.Length * Vector<float>.Count;
                }
                for (; j < n; j++) crow[j] += aik * brow[j];
            }
        }
    }

    private int Simd(DType t) => Spec.SimdWidth(t);

    private void Complete(int pe, Completion done, long time)
    {
        if (time > _lastActivity) _lastActivity = time;
        if (done.Kind != 0) Event(time, 1, pe, done.Kind << 8 | done.Task);
    }

    private int NewOp()
    {
        if (_freeOps.Count > 0) return _freeOps.Pop();
        if (_opCount == _ops.Length) Array.Resize(ref _ops, _ops.Length * 2);
        return _opCount++;
    }

    private static float Load16(ushort v, DType t) => t == DType.BFloat16 ? Float16Bits.FromBFloat16(v) : Float16Bits.FromHalf(v);
    private static ushort Store16(float v, DType t) => t == DType.BFloat16 ? Float16Bits.ToBFloat16(v) : Float16Bits.ToHalf(v);

    private float ReadMem(int pe, in Dsd d, int i)
    {
        int es = d.Type.Size();
        int addr = d.Address + i * d.Stride * es;
        var s = Sram(pe, addr, es);
        return es == 4 ? MemoryMarshal.Read<float>(s) : Load16(MemoryMarshal.Read<ushort>(s), d.Type);
    }

    private void WriteMem(int pe, in Dsd d, int i, float v)
    {
        int es = d.Type.Size();
        int addr = d.Address + i * d.Stride * es;
        var s = Sram(pe, addr, es);
        if (es == 4) MemoryMarshal.Write(s, in v); else { ushort h = Store16(v, d.Type); MemoryMarshal.Write(s, in h); }
    }

    private static float Apply(VecOp op, float a, float b, float d) => op switch
    {
        VecOp.Mov => a,
        VecOp.Add => a + b,
        VecOp.Sub => a - b,
        VecOp.Mul => a * b,
        VecOp.Fma => d + a * b,
        VecOp.Max => MathF.Max(a, b),
        VecOp.Exp => MathF.Exp(a),
        VecOp.Rsqrt => 1f / MathF.Sqrt(a),
        VecOp.Sqrt => MathF.Sqrt(a),
        VecOp.Div => a / b,
        VecOp.Relu => MathF.Max(a, 0f),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private void ExecMemory(int pe, VecOp op, in Dsd d, in Dsd a, in Dsd b, int len)
    {
        // grow SRAM to the highest byte any operand touches first, so no span below is invalidated by a later resize
        foreach (var m in (ReadOnlySpan<Dsd>)[d, a, b])
            if (m.Kind == DsdKind.Memory)
            {
                int es = m.Type.Size();
                Sram(pe, m.Address, es);
                Sram(pe, Math.Max(m.Address, m.Address + (len - 1) * m.Stride * es), es);
            }
        // fast path: contiguous float32 vectors
        if (d.Type == DType.Float32 && d.Stride == 1 && a.Kind is DsdKind.Memory && a.Type == DType.Float32 && a.Stride == 1
            && (b.Kind is DsdKind.None or DsdKind.Scalar || (b.Kind == DsdKind.Memory && b.Type == DType.Float32 && b.Stride == 1))
            && op is VecOp.Mov or VecOp.Add or VecOp.Sub or VecOp.Mul or VecOp.Fma)
        {
            var D = MemoryMarshal.Cast<byte, float>(Sram(pe, d.Address, len * 4));
            var A = MemoryMarshal.Cast<byte, float>(Sram(pe, a.Address, len * 4));
            if (b.Kind == DsdKind.Memory)
            {
                var B = MemoryMarshal.Cast<byte, float>(Sram(pe, b.Address, len * 4));
                for (int i = 0; i < len; i++) D[i] = Apply(op, A[i], B[i], D[i]);
            }
            else
            {
                float s = b.Value;
                for (int i = 0; i < len; i++) D[i] = Apply(op, A[i], s, D[i]);
            }
            return;
        }
        for (int i = 0; i < len; i++)
        {
            float av = a.Kind switch { DsdKind.Memory => ReadMem(pe, a, i), DsdKind.Scalar => a.Value, _ => 0 };
            float bv = b.Kind switch { DsdKind.Memory => ReadMem(pe, b, i), DsdKind.Scalar => b.Value, _ => 0 };
            float dv = op == VecOp.Fma ? ReadMem(pe, d, i) : 0;
            WriteMem(pe, d, i, Apply(op, av, bv, dv));
        }
    }

    // ---------------------------------------------------------------- wavelet queues

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint CqPop(int ch)
    {
        int slot = ch * _depth + _chs[ch].CqHead;
        uint w = _cq[slot].Pay;
        _chs[ch].CqHead = (byte)((_chs[ch].CqHead + 1) & _mask);
        _chs[ch].CqCount--;
        return w;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RbPush(int ch, uint payload, int port, ref int peak)
    {
        int cnt = _chs[ch].RbCount;
        int slot = ch * _depth + ((_chs[ch].RbHead + cnt) & _mask);
        _rb[slot].Pay = payload; _rb[slot].Ready = (int)_now + 1; _rb[slot].Port = (byte)port;
        _chs[ch].RbCount = (byte)(cnt + 1);
        if (cnt + 1 > peak) peak = cnt + 1;
    }

    // sets pe's router bit; false when it was set already. wordWasEmpty: the word's summary bit in _actTop must be set
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool MarkActive(int pe, out bool wordWasEmpty)
    {
        int w = pe >> 6;
        ulong bit = 1UL << (pe & 63), old = _actBits[w];
        wordWasEmpty = old == 0;
        if ((old & bit) != 0) return false;
        _actBits[w] = old | bit;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ActivateRouter(int pe)
    {
        if (!MarkActive(pe, out bool first)) return;
        if (first) _actTop[pe >> 12] |= 1UL << ((pe >> 6) & 63);
        _actRCount++;
    }

    private void AddActiveOp(int i)
    {
        _ops[i].State = 1;
        if (_actOpCount == _actOps.Length) Array.Resize(ref _actOps, _actOps.Length * 2);
        _actOps[_actOpCount++] = i;
    }

    // ---------------------------------------------------------------- the run loop

    /// <summary>
    /// Runs until every task, instruction and wavelet has finished; returns the cycle of the last activity. Throws
    /// <see cref="InvalidOperationException"/> on a deadlock (instructions waiting for wavelets that never come).
    /// </summary>
    public long Run()
    {
        StartWorker();
        try { return RunLoop(); }
        finally { StopWorker(); }
    }

    private long RunLoop()
    {
        while (true)
        {
            if (_actRCount == 0 && _actOpCount == 0 && _schedCount == 0)
            {
                if (_events.Count == 0) break;
                if (_events.PeekTime > _now) _now = _events.PeekTime;
            }
            if (_now > _o.MaxCycles) throw new InvalidOperationException($"simulation exceeded {_o.MaxCycles} cycles (a hung program?)");
            while (_events.Count > 0 && _events.PeekTime <= _now)
            {
                long ev = _events.PeekPayload;
                _events.RemoveMin();
                _events0++;
                int kind = (int)(ev >> 56), pe = (int)(ev & 0xFFFFFFFF), arg = (int)((ev >> 32) & 0xFFFFFF);
                switch (kind)
                {
                    case 0: if (_now > _lastActivity) _lastActivity = _now; Sched(pe); break;
                    case 1:
                        int task = arg & 0xFF;
                        if ((arg >> 8) == 1) _active[pe] |= 1UL << (32 + task); else _blocked[pe] &= ~(1UL << (32 + task));
                        Sched(pe);
                        break;
                    case 2: if (_ops[arg].IsSink) StartSink(arg); else AddActiveOp(arg); break;
                    case 3: if (FinishSink(arg)) _events0--; break;
                }
            }
            if (_schedCount > 0)
            {
                int n = _schedCount;
                (_sched, _sched2) = (_sched2, _sched);
                if (_sched.Length < _sched2.Length) _sched = new int[_sched2.Length];
                _schedCount = 0;
                for (int k = 0; k < n; k++) _inSched[_sched2[k]] = 0;
                for (int k = 0; k < n; k++) TrySchedule(_sched2[k]);
            }
            if (_actRCount > 0)
            {
                long moves = _routerMoves;
                StepRouters();
                // nothing can change any more when two cycles move no wavelet with no instruction, task or event left
                if (_routerMoves == moves && _actOpCount == 0 && _schedCount == 0 && _events.Count == 0) { if (++_stuckCycles >= 2) throw Stuck(); }
                else _stuckCycles = 0;
            }
            if (_actOpCount > 0) StepOps();
            _now++;
        }
        int parked = 0;
        for (int i = 0; i < _opCount; i++) if (_ops[i].State != 0) parked++;
        if (parked > 0)
        {
            var o = Array.Find(_ops, x => x.State != 0);
            throw new InvalidOperationException($"deadlock at cycle {_now}: {parked} fabric instruction(s) never finished, e.g. {o.Op} on PE ({o.Pe % Width}, {o.Pe / Width}) at element {(o.State == 4 && _chs[o.ChA].SinkCopy != 0 ? o.Length - _chs[o.ChA].SinkLeft : o.Index)}/{o.Length}");
        }
        return _lastActivity;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StepOps()
    {
        int now = (int)_now;
        int n0 = _actOpCount, j = 0;
        for (int i = 0; i < n0; i++)
        {
            int id = _actOps[i];
            int r = StepOp(id, now);
            if (r == 0) _actOps[j++] = id;          // still running
            // r == 1: parked or finished
        }
        for (int i = n0; i < _actOpCount; i++) _actOps[j++] = _actOps[i];
        _actOpCount = j;
    }

    // 0: keep polling; 1: left the active list (parked or done)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int StepOp(int id, int now)
    {
        ref var o = ref _ops[id];
        int pe = o.Pe;
        if (o.ChA >= 0)
        {
            int ch = o.ChA;
            if (_chs[ch].CqCount == 0) { _chs[ch].WaitOp = id; o.State = 2; return 1; }
            if (_cq[ch * _depth + _chs[ch].CqHead].Ready > now) return 0;
        }
        if (o.ChB >= 0)
        {
            int ch = o.ChB;
            if (_chs[ch].CqCount == 0) { _chs[ch].WaitOp = id; o.State = 2; return 1; }
            if (_cq[ch * _depth + _chs[ch].CqHead].Ready > now) return 0;
        }
        if (o.ChD >= 0 && (_chs[o.ChD].RbCount >= _depth || _injUsed[pe] == now)) { _stalls++; return 0; }
        int idx = o.Index;
        // Issue grew SRAM over every memory operand's whole range and SRAM only grows, so element accesses need no bounds check
        ref byte mem = ref Unsafe.AsRef<byte>((void*)_sramBase[pe]);
        float a = o.A.Kind switch { DsdKind.FabricIn => Decode(CqPop(o.ChA), o.A.Type), DsdKind.Memory => Fetch(ref mem, o.A, idx), DsdKind.Scalar => o.A.Value, _ => 0 };
        float b = o.B.Kind switch { DsdKind.FabricIn => Decode(CqPop(o.ChB), o.B.Type), DsdKind.Memory => Fetch(ref mem, o.B, idx), DsdKind.Scalar => o.B.Value, _ => 0 };
        float v;
        if (o.Op == VecOp.Mov) v = a;
        else
        {
            float dOld = o.Op == VecOp.Fma && o.D.Kind == DsdKind.Memory ? Fetch(ref mem, o.D, idx) : 0;
            v = Apply(o.Op, a, b, dOld);
            if (o.Op == VecOp.Fma) _fmacs++;
        }
        if (o.D.Kind == DsdKind.Memory) Store(ref mem, o.D, idx, v);
        else
        {
            RbPush(o.ChD, Encode(v, o.D.Type), PortIndex.Ramp, ref _peakBuffer);
            _injUsed[pe] = now;
            _pend[pe] |= 1u << o.DColor;
            ActivateRouter(pe);
        }
        _busyCycles++;
        if (now + 1 > _lastActivity) _lastActivity = now + 1;
        o.Index = idx + 1;
        if (o.Index < o.Length) return 0;
        // finished
        if (o.ChA >= 0) { _chs[o.ChA].CeBusy--; if (_chs[o.ChA].CqCount > 0) Sched(pe); }
        if (o.ChB >= 0) { _chs[o.ChB].CeBusy--; if (_chs[o.ChB].CqCount > 0) Sched(pe); }
        o.State = 0;
        _freeOps.Push(id);
        Complete(pe, o.Done, now + 1);
        return 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fetch(ref byte mem, in Operand d, int i)
    {
        ref byte at = ref Unsafe.Add(ref mem, d.Off + i * d.Step);
        if (d.Type == DType.Float32) return Unsafe.ReadUnaligned<float>(ref at);
        return Load16(Unsafe.ReadUnaligned<ushort>(ref at), d.Type);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref byte mem, in Operand d, int i, float v)
    {
        ref byte at = ref Unsafe.Add(ref mem, d.Off + i * d.Step);
        if (d.Type == DType.Float32) Unsafe.WriteUnaligned(ref at, v);
        else Unsafe.WriteUnaligned(ref at, Store16(v, d.Type));
    }

    private static uint Encode(float v, DType t) => t == DType.Float32 ? BitConverter.SingleToUInt32Bits(v) : Store16(v, t);
    private static float Decode(uint w, DType t) => t == DType.Float32 ? BitConverter.UInt32BitsToSingle(w) : Load16((ushort)w, t);

    // ---------------------------------------------------------------- observability

    /// <summary>Records a named phase [start, end) of a kernel for the trace.</summary>
    public void Phase(string name, long start, long end) => _phases.Add(new PhaseSpan(name, start, end));

    /// <summary>Task spans recorded with <see cref="FabricOptions.Trace"/>.</summary>
    public IReadOnlyList<TraceSpan> Spans => _spans;
    /// <summary>Kernel phases.</summary>
    public IReadOnlyList<PhaseSpan> Phases => _phases;

    /// <summary>Wavelets that left PE (x, y) through port <paramref name="port"/> (see <see cref="PortIndex"/>).</summary>
    public int LinkWavelets(int x, int y, int port) => _links[(y * Width + x) * 5 + port].Count;

    /// <summary>Counters of the run so far.</summary>
    public FabricStats Stats(Region? over = null)
    {
        var r = over ?? new Region(0, 0, Width, Height);
        long pes = 0;
        for (int y = r.Y; y < r.Y + r.Height; y++) for (int x = r.X; x < r.X + r.Width; x++) if (!IsDead(x, y)) pes++;
        long cycles = Math.Max(1, _lastActivity);
        return new FabricStats(_lastActivity, pes, Math.Min(1.0, _busyCycles / ((double)pes * cycles)),
            _fmacs / ((double)pes * cycles * Spec.Simd32), _peakBuffer, _stalls, _rxWaits, _waveletHops, _tasks, _events0);
    }
}

/// <summary>One task execution on one PE.</summary>
public readonly record struct TraceSpan(int Pe, long Start, long End, string Task, string Program);

/// <summary>A named phase of a kernel run.</summary>
public readonly record struct PhaseSpan(string Name, long Start, long End);

/// <summary>Summary of a run.</summary>
/// <param name="Cycles">Cycle of the last activity.</param>
/// <param name="Pes">Live PEs counted.</param>
/// <param name="BusyFraction">Task and instruction cycles over PEs × cycles.</param>
/// <param name="FmacUtilization">FMACs over PEs × cycles × fp32 SIMD width.</param>
/// <param name="PeakBufferOccupancy">Most wavelets ever held by one per-color buffer.</param>
/// <param name="BackPressureStalls">Wavelet-cycles a ready wavelet (or a sending instruction) waited for buffer space or a busy link.</param>
/// <param name="RouteWaits">Wavelet-cycles a wavelet waited because the color's route did not (yet) accept its input port.</param>
/// <param name="WaveletHops">Wavelets moved across PE-to-PE links.</param>
/// <param name="Tasks">Tasks run.</param>
/// <param name="Events">Timed events processed.</param>
public readonly record struct FabricStats(long Cycles, long Pes, double BusyFraction, double FmacUtilization, int PeakBufferOccupancy,
    long BackPressureStalls, long RouteWaits, long WaveletHops, long Tasks, long Events);
