using System.Runtime.CompilerServices;

namespace WaferSharp.Fabric;

/// <summary>
/// The simulator's timed events: a binary min-heap on (time, sequence). Sequence numbers are unique, so the order is
/// total and the run is deterministic; the comparison is inlined instead of going through a comparer delegate.
/// </summary>
internal sealed class EventQueue
{
    private struct Entry
    {
        public long Time, Seq, Payload;
    }

    private Entry[] _heap = new Entry[256];
    private int _count;

    public int Count => _count;

    /// <summary>Time of the earliest event; only valid when <see cref="Count"/> &gt; 0.</summary>
    public long PeekTime => _heap[0].Time;

    /// <summary>Payload of the earliest event; only valid when <see cref="Count"/> &gt; 0.</summary>
    public long PeekPayload => _heap[0].Payload;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(in Entry a, in Entry b) => a.Time < b.Time || (a.Time == b.Time && a.Seq < b.Seq);

    public void Enqueue(long payload, long time, long seq)
    {
        if (_count == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
        var e = new Entry { Time = time, Seq = seq, Payload = payload };
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(e, _heap[parent])) break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = e;
    }

    public void RemoveMin()
    {
        var last = _heap[--_count];
        if (_count == 0) return;
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && Less(_heap[child + 1], _heap[child])) child++;
            if (!Less(_heap[child], last)) break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = last;
    }
}
