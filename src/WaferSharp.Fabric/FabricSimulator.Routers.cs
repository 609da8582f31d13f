using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using WaferSharp.Tensors;

namespace WaferSharp.Fabric;

// The router step of a cycle, and stream sinks (receives completed by the router on delivery).
//
// A cycle's router step does not depend on the order routers are visited in: a slot freed by a pop is credited upstream
// only the next cycle (Chan.PopAt), pushes land with Ready = now + 1, and the CE queues are popped after every router
// has stepped. Only two upstreams merging into one buffer in the same cycle are ordered, by the visiting order, which is
// fixed by the geometry: on fabrics with a split row h (h·W a multiple of 64, at least 2048 PEs) the band of rows
// h − 1 … h first, then the PEs before it, then the PEs after it, each in PE order; elsewhere plain PE order. Routers
// before the band touch only PEs < h·W and routers after it only PEs ≥ h·W, so the two sides step on two threads at
// once, each writing its counters, events and schedule requests to its own Lane, merged in that order — the result is
// the same bits and cycles for any thread count.
public sealed partial class FabricSimulator
{
    // side effects of stepping a range of routers, merged into the simulator in range order
    private sealed class Lane
    {
        public long Stalls, RxWaits, Hops, Busy, Fmacs, Last, Moves;
        public int Peak, ActDelta;
        public long[] EvTime = new long[64], EvPay = new long[64];
        public int EvCount;
        public int[] Scheds = new int[64], Adds = new int[64], Words = new int[64];
        public int SchedCount, AddCount, WordCount;
        public Exception? Error;

        public void Event(long time, long payload)
        {
            if (EvCount == EvTime.Length) { Array.Resize(ref EvTime, EvCount * 2); Array.Resize(ref EvPay, EvCount * 2); }
            EvTime[EvCount] = time; EvPay[EvCount++] = payload;
        }

        public static void Add(ref int[] list, ref int count, int v)
        {
            if (count == list.Length) Array.Resize(ref list, count * 2);
            list[count++] = v;
        }
    }

    private readonly Lane _lane0 = new(), _lane1 = new();
    private int _bandW0 = -1, _bandW1, _words; // band [_bandW0, _bandW1) in 64-PE words; -1: no split
    private Thread? _worker;
    private volatile bool _stopWorker;
    private const int ParallelRouters = 512; // active routers below which a cycle is stepped on one thread

    private void InitSplit()
    {
        _words = _actBits.Length;
        if (_n < 2048) return;
        for (int d = 0; d <= Height / 2; d++)
            foreach (int h in (ReadOnlySpan<int>)[Height / 2 - d, Height / 2 + d])
            {
                if (h < 2 || h > Height - 2 || (long)h * Width % 64 != 0) continue;
                _bandW0 = (h - 1) * Width >> 6;                       // floor
                _bandW1 = Math.Min(_words, ((h + 1) * Width + 63) >> 6); // ceil
                return;
            }
    }

    private void StepRouters()
    {
        if (_bandW0 < 0) { StepRange(0, _words, _lane0); Flush(_lane0); return; }
        bool two = _worker != null && _actRCount >= ParallelRouters && _tuneCycle >= _oneUntil;
        if (_worker != null && _actRCount >= ParallelRouters) _tuneCycle++;
        StepBandFirst(two);
    }

    // Two threads pay off only when the second core is free. When, over 256 parallel cycles, this thread waited for
    // the worker longer than it stepped its own half, the worker is not getting a core: the next 4096 such cycles step
    // on one thread, then two are tried again. The choice changes host time only: results are the same either way.
    private long _tuneCycle, _oneUntil, _ownTicks, _waitTicks;
    private int _tuneCount;

    // the band, then the PEs before it, then those after it (on two threads when two)
    private void StepBandFirst(bool two)
    {
        StepRange(_bandW0, _bandW1, _lane0);
        Flush(_lane0);
        if (!two)
        {
            StepRange(0, _bandW0, _lane0);
            Flush(_lane0);
            StepRange(_bandW1, _words, _lane0);
            Flush(_lane0);
            return;
        }
        ParallelCycles++;
        long t0 = Stopwatch.GetTimestamp();
        int ticket = Interlocked.Increment(ref _goTicket);
        if (Interlocked.Exchange(ref _parked, 0) == 1) _wake!.Release();
        long t1;
        try { StepRange(0, _bandW0, _lane0); }
        finally
        {
            t1 = Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref _doneTicket) != ticket) spin.SpinOnce(sleep1Threshold: -1);
        }
        if (_lane1.Error is { } e) { _lane1.Error = null; throw e; }
        Flush(_lane0);
        Flush(_lane1);
        _ownTicks += t1 - t0; _waitTicks += Stopwatch.GetTimestamp() - t1;
        if (++_tuneCount == 256)
        {
            if (_waitTicks > _ownTicks) _oneUntil = _tuneCycle + 4096;
            _tuneCount = 0; _ownTicks = _waitTicks = 0;
        }
    }

    /// <summary>Cycles whose routers were stepped on two threads (see <see cref="FabricOptions.Threads"/>).</summary>
    public long ParallelCycles { get; private set; }

    private int _goTicket, _doneTicket, _parked;
    private SemaphoreSlim? _wake;

    // The worker spins on the ticket between cycles (a cycle's routers take tens of microseconds, less than a sleeping
    // thread takes to wake) and parks on a semaphore after ~50 µs without work, e.g. while the simulator skips ahead.
    private void StartWorker()
    {
        if (_bandW0 < 0 || _o.Threads < 2 || _worker != null) return;
        _wake = new SemaphoreSlim(0);
        _stopWorker = false;
        int seen = Volatile.Read(ref _goTicket);
        _worker = new Thread(() =>
        {
            while (true)
            {
                var spin = new SpinWait();
                long idle = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _goTicket) == seen)
                {
                    if (Stopwatch.GetElapsedTime(idle).Ticks > 500)
                    {
                        Interlocked.Exchange(ref _parked, 1);
                        if (Volatile.Read(ref _goTicket) == seen) _wake.Wait();
                        Interlocked.Exchange(ref _parked, 0);
                        idle = Stopwatch.GetTimestamp();
                        continue;
                    }
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                seen++;
                if (_stopWorker) return;
                try { StepRange(_bandW1, _words, _lane1); }
                catch (Exception e) { _lane1.Error = e; }
                Volatile.Write(ref _doneTicket, seen);
            }
        }) { IsBackground = true, Name = "fabric-routers" };
        _worker.Start();
    }

    private void StopWorker()
    {
        if (_worker == null) return;
        _stopWorker = true;
        Interlocked.Increment(ref _goTicket);
        _wake!.Release();
        _worker.Join();
        _worker = null;
        _wake.Dispose();
    }

    private void Flush(Lane l)
    {
        _stalls += l.Stalls; _rxWaits += l.RxWaits; _routerMoves += l.Moves; _waveletHops += l.Hops; _busyCycles += l.Busy; _fmacs += l.Fmacs;
        if (l.Peak > _peakBuffer) _peakBuffer = l.Peak;
        if (l.Last > _lastActivity) _lastActivity = l.Last;
        for (int i = 0; i < l.EvCount; i++) _events.Enqueue(l.EvPay[i], l.EvTime[i], _seq++);
        for (int i = 0; i < l.SchedCount; i++) Sched(l.Scheds[i]);
        for (int i = 0; i < l.AddCount; i++) AddActiveOp(l.Adds[i]);
        for (int i = 0; i < l.WordCount; i++)
        {
            int w = l.Words[i];
            if (_actBits[w] != 0) _actTop[w >> 6] |= 1UL << (w & 63); else _actTop[w >> 6] &= ~(1UL << (w & 63));
        }
        _actRCount += l.ActDelta;
        l.Stalls = l.RxWaits = l.Hops = l.Busy = l.Fmacs = l.Last = l.Moves = 0;
        l.Peak = l.ActDelta = l.EvCount = l.SchedCount = l.AddCount = l.WordCount = 0;
    }

    // steps the active routers in 64-PE words [w0, w1); top bits are only read here (Flush updates them)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StepRange(int w0, int w1, Lane lane)
    {
        if (w0 >= w1) return;
        for (int t = w0 >> 6; t <= (w1 - 1) >> 6; t++)
        {
            int lo = Math.Max(w0 - (t << 6), 0), hi = Math.Min(w1 - (t << 6), 64);
            ulong range = (hi == 64 ? ~0UL : (1UL << hi) - 1) & ~((1UL << lo) - 1);
            for (ulong top = _actTop[t] & range; top != 0; top &= top - 1)
            {
                int wi = (t << 6) | BitOperations.TrailingZeroCount(top);
                for (ulong word = _actBits[wi]; word != 0; word &= word - 1)
                {
                    int pe = (wi << 6) | BitOperations.TrailingZeroCount(word);
                    StepRouter(pe, lane);
                    if (_pend[pe] == 0)
                    {
                        ulong left = _actBits[wi] & ~(1UL << (pe & 63));
                        _actBits[wi] = left;
                        if (left == 0) Lane.Add(ref lane.Words, ref lane.WordCount, wi);
                        lane.ActDelta--;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StepRouter(int pe, Lane lane)
    {
        int now = (int)_now;
        uint mask = _pend[pe];
        while (mask != 0)
        {
            int c = BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            int ch = _chan[c]![pe] - 1;
            ref Chan chn = ref _chs[ch];
            ref RbSlot head = ref _rb[ch * _depth + chn.RbHead];
            if (head.Ready > now) continue;
            if ((chn.Rx & (1 << head.Port)) == 0) { lane.RxWaits++; continue; }
            int tx = chn.Tx;
            if (tx == 0) throw new InvalidOperationException($"wavelet on color {c} at PE ({pe % Width}, {pe / Width}) has no tx port");
            ref Link links = ref _links[pe * 5];
            bool ok = true;
            // the ramp first: when two colors contend for it, the loser is turned away without touching a neighbour
            if ((tx & (1 << PortIndex.Ramp)) != 0)
            {
                if (Unsafe.Add(ref links, PortIndex.Ramp).Used == now) ok = false;
                else
                {
                    if (chn.CqDone != 0) Drain(ref chn, ch);
                    if (chn.CqCount >= _depth) ok = false;
                }
            }
            for (int t = ok ? tx & ~(1 << PortIndex.Ramp) : 0; t != 0; t &= t - 1)
            {
                int p = BitOperations.TrailingZeroCount(t);
                if (Unsafe.Add(ref links, p).Used == now) { ok = false; break; }
                int nch = chn.Nbr[p] - 1;
                if (nch < 0) nch = LinkNeighbor(ch, pe, p, c);
                if (nch < 0) throw new InvalidOperationException($"wavelet on color {c} leaves PE ({pe % Width}, {pe / Width}) through port {(Ports)(1 << p)} to a PE with no route for color {c}");
                if (_chs[nch].RbCount + (_chs[nch].PopAt == now ? 1 : 0) >= _depth) { ok = false; break; }
            }
            if (!ok) { lane.Stalls++; continue; }
            uint pay = head.Pay;
            lane.Moves++;
            chn.RbHead = (byte)((chn.RbHead + 1) & _mask);
            chn.PopAt = now;
            if (--chn.RbCount == 0) _pend[pe] &= ~(1u << c);
            if (chn.PendPops > 0 && --chn.PendPops == 0) { chn.Rx = chn.PendRx; chn.Tx = chn.PendTx; }
            for (int t = tx; t != 0; t &= t - 1)
            {
                int p = BitOperations.TrailingZeroCount(t);
                ref Link link = ref Unsafe.Add(ref links, p);
                link.Used = now;
                link.Count++;
                if (p == PortIndex.Ramp)
                {
                    int cnt = chn.CqCount;
                    ref CqSlot tail = ref _cq[ch * _depth + ((chn.CqHead + cnt) & _mask)];
                    tail.Pay = pay; tail.Ready = now + 1;
                    chn.CqCount = (byte)(cnt + 1);
                    if (cnt + 1 > lane.Peak) lane.Peak = cnt + 1;
                    int w = chn.WaitOp;
                    if (chn.Sink != 0) SinkPop(ref chn, ref tail, now + 1, lane);
                    else if (w >= 0) { chn.WaitOp = -1; Lane.Add(ref lane.Adds, ref lane.AddCount, w); }
                    else if (chn.CeBusy == 0) Lane.Add(ref lane.Scheds, ref lane.SchedCount, pe);
                }
                else
                {
                    lane.Hops++;
                    int nch = chn.Nbr[p] - 1;
                    RbPush(nch, pay, PortIndex.Opposite(p), ref lane.Peak);
                    int npe = _chs[nch].Pe;
                    _pend[npe] |= 1u << c;
                    // the summary bit is set when the lane is merged (another thread may own that word of _actTop)
                    if (MarkActive(npe, out bool first))
                    {
                        if (first) Lane.Add(ref lane.Words, ref lane.WordCount, npe >> 6);
                        lane.ActDelta++;
                    }
                }
            }
            if (now + 1 > lane.Last) lane.Last = now + 1;
        }
    }

    // a deadlock of wavelets no route will take: names the first one
    private InvalidOperationException Stuck()
    {
        for (int pe = 0; pe < _n; pe++)
            for (uint mask = _pend[pe]; mask != 0; mask &= mask - 1)
            {
                int c = BitOperations.TrailingZeroCount(mask), ch = _chan[c]![pe] - 1;
                var head = _rb[ch * _depth + _chs[ch].RbHead];
                string why = (_chs[ch].Rx & (1 << head.Port)) == 0
                    ? $"arrived from {(Ports)(1 << head.Port)} but the route accepts only {(Ports)_chs[ch].Rx}"
                    : $"cannot leave toward {(Ports)_chs[ch].Tx} (buffers full)";
                return new InvalidOperationException($"deadlock at cycle {_now}: {_actRCount} router(s) hold wavelets that can never move, e.g. color {c} at PE ({pe % Width}, {pe / Width}): the wavelet {why}; no instruction, task or event is left to change that");
            }
        return new InvalidOperationException($"deadlock at cycle {_now}: wavelets can never move");
    }

    // channels are never removed, so a neighbour's channel, once it exists, can be remembered
    private int LinkNeighbor(int ch, int pe, int port, int color)
    {
        int nch = _chan[color]![Neighbor(pe, port)] - 1;
        if (nch >= 0) _chs[ch].Nbr[port] = nch + 1;
        return nch;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Neighbor(int pe, int port) => port switch
    {
        PortIndex.North => pe - Width,
        PortIndex.South => pe + Width,
        PortIndex.East => pe + 1,
        _ => pe - 1,
    };

    // ---------------------------------------------------------------- stream sinks

    // Pops a stream sink's next element out of a CE-queue slot: it leaves at max(ready, last pop + 1), exactly when the
    // stepped instruction would have popped it; its result is written now (no one may read the destination before the
    // instruction completes).
    private void SinkPop(ref Chan chn, ref CqSlot slot, int ready, Lane lane)
    {
        int id = chn.Sink - 1;
        int pop = Math.Max(ready, chn.LastPop + 1);
        slot.Ready = pop;
        chn.CqDone++;
        chn.LastPop = pop;
        lane.Busy++;
        if (pop + 1 > lane.Last) lane.Last = pop + 1;
        if (chn.SinkCopy != 0)
        {
            // the common receive: touches only the channel and the destination, not the instruction
            ref byte at = ref Unsafe.Add(ref SramBase(chn.Pe), chn.SinkOff);
            if (chn.SinkCopy == 4) Unsafe.WriteUnaligned(ref at, slot.Pay); else Unsafe.WriteUnaligned(ref at, (ushort)slot.Pay);
            chn.SinkOff += chn.SinkStep;
            if (--chn.SinkLeft == 0) { _ops[id].Index = _ops[id].Length; chn.Sink = 0; lane.Event(pop + 1, EventPayload(3, chn.Pe, id)); }
            return;
        }
        ref var o = ref _ops[id];
        int pe = o.Pe, idx = o.Index;
        ref byte mem = ref SramBase(pe);
        float a = Decode(slot.Pay, o.A.Type);
        float b = o.B.Kind switch { DsdKind.Memory => Fetch(ref mem, o.B, idx), DsdKind.Scalar => o.B.Value, _ => 0 };
        float v;
        if (o.Op == VecOp.Mov) v = a;
        else
        {
            v = Apply(o.Op, a, b, o.Op == VecOp.Fma ? Fetch(ref mem, o.D, idx) : 0);
            if (o.Op == VecOp.Fma) lane.Fmacs++;
        }
        Store(ref mem, o.D, idx, v);
        o.Index = idx + 1;
        if (o.Index == o.Length) { chn.Sink = 0; lane.Event(pop + 1, EventPayload(3, pe, id)); }
    }

    private unsafe ref byte SramBase(int pe) => ref Unsafe.AsRef<byte>((void*)_sramBase[pe]);

    // consumed entries whose pop cycle has passed leave the queue
    private void Drain(ref Chan chn, int ch)
    {
        int now = (int)_now;
        while (chn.CqDone != 0 && _cq[ch * _depth + chn.CqHead].Ready < now)
        {
            chn.CqHead = (byte)((chn.CqHead + 1) & _mask);
            chn.CqCount--;
            chn.CqDone--;
        }
    }

    // the sink's instruction starts (its issue event): wavelets already queued are popped from now on
    private void StartSink(int id)
    {
        ref var o = ref _ops[id];
        o.State = 4;
        int ch = o.ChA;
        ref Chan chn = ref _chs[ch];
        chn.Sink = id + 1;
        chn.SinkCopy = (byte)(o.Op == VecOp.Mov && o.A.Type == o.D.Type ? o.D.Type.Size() : 0);
        chn.SinkOff = o.D.Off + o.Index * o.D.Step; chn.SinkStep = o.D.Step; chn.SinkLeft = o.Length - o.Index;
        if (chn.CqDone != 0) Drain(ref chn, ch);
        chn.LastPop = Math.Max(chn.LastPop, (int)_now - 1);
        for (int j = chn.CqDone; j < chn.CqCount && chn.Sink != 0; j++)
        {
            ref CqSlot slot = ref _cq[ch * _depth + ((chn.CqHead + j) & _mask)];
            SinkPop(ref chn, ref slot, slot.Ready, _lane0);
        }
        Flush(_lane0);
    }

    // the sink's last pop was the cycle before: the stepped instruction would have finished then; returns true when
    // its completion has no event of its own (so the event count matches the stepped instruction's)
    private bool FinishSink(int id)
    {
        ref var o = ref _ops[id];
        int pe = o.Pe, ch = o.ChA;
        ref Chan chn = ref _chs[ch];
        chn.CeBusy--;
        chn.SinkHeld = 0;
        if (chn.CqDone != 0) Drain(ref chn, ch);
        if (chn.CqCount > 0) Sched(pe);
        o.State = 0;
        o.IsSink = false;
        _freeOps.Push(id);
        var done = o.Done;
        if (done.Kind == 0) return true;
        if (done.Kind == 1) _active[pe] |= 1UL << (32 + done.Task); else _blocked[pe] &= ~(1UL << (32 + done.Task));
        Sched(pe);
        return false;
    }
}
