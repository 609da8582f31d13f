using WaferSharp.Tensors;

namespace WaferSharp.Fabric;

/// <summary>What a <see cref="Dsd"/> addresses.</summary>
public enum DsdKind : byte
{
    /// <summary>No operand.</summary>
    None,
    /// <summary>A strided vector in the PE's SRAM (like <c>mem1d_dsd</c>).</summary>
    Memory,
    /// <summary>A stream of wavelets arriving on a color (like <c>fabin_dsd</c>).</summary>
    FabricIn,
    /// <summary>A stream of wavelets sent on a color (like <c>fabout_dsd</c>).</summary>
    FabricOut,
    /// <summary>A scalar operand, repeated for every element.</summary>
    Scalar,
}

/// <summary>
/// A data structure descriptor: one operand of a vector instruction. A memory DSD is a strided vector of
/// <see cref="Length"/> elements of <see cref="Type"/> at byte address <see cref="Address"/> (stride in elements;
/// stride 0 repeats one element, which turns an elementwise instruction into a reduction into that element). A fabric
/// DSD is a stream of <see cref="Length"/> wavelets on <see cref="Color"/>, one element per wavelet (fp32 as its bits,
/// fp16/bf16 in the low 16 bits).
/// </summary>
public readonly record struct Dsd(DsdKind Kind, int Address, int Length, int Stride, int Color, DType Type, float Value)
{
    /// <summary>A memory vector of <paramref name="length"/> elements at byte <paramref name="address"/>.</summary>
    public static Dsd Mem(int address, int length, DType type = DType.Float32, int stride = 1) => new(DsdKind.Memory, address, length, stride, -1, type, 0);
    /// <summary>A stream of <paramref name="length"/> wavelets arriving on <paramref name="color"/>.</summary>
    public static Dsd FabIn(int color, int length, DType type = DType.Float32) => new(DsdKind.FabricIn, 0, length, 1, color, type, 0);
    /// <summary>A stream of <paramref name="length"/> wavelets sent on <paramref name="color"/>.</summary>
    public static Dsd FabOut(int color, int length, DType type = DType.Float32) => new(DsdKind.FabricOut, 0, length, 1, color, type, 0);
    /// <summary>A scalar operand.</summary>
    public static Dsd Scalar(float value) => new(DsdKind.Scalar, 0, 0, 0, -1, DType.Float32, value);

    /// <summary>True for fabric streams.</summary>
    public bool IsFabric => Kind is DsdKind.FabricIn or DsdKind.FabricOut;
}

/// <summary>
/// Vector instructions. <c>d</c> is the destination, <c>a</c> and <c>b</c> the sources; each runs over the
/// destination's length. Memory-only instructions run at the PE's SIMD width for the dtype; an instruction with a
/// fabric operand moves one element per cycle (one wavelet per link per cycle).
/// </summary>
public enum VecOp : byte
{
    /// <summary>d = a.</summary>
    Mov,
    /// <summary>d = a + b.</summary>
    Add,
    /// <summary>d = a − b.</summary>
    Sub,
    /// <summary>d = a · b.</summary>
    Mul,
    /// <summary>d = d + a · b (FMAC).</summary>
    Fma,
    /// <summary>d = max(a, b).</summary>
    Max,
    /// <summary>d = exp(a) (a software sequence: <see cref="FabricOptions.TranscendentalCost"/> × a SIMD pass).</summary>
    Exp,
    /// <summary>d = 1 / √a (software sequence).</summary>
    Rsqrt,
    /// <summary>d = √a (software sequence).</summary>
    Sqrt,
    /// <summary>d = a / b (software sequence).</summary>
    Div,
    /// <summary>d = max(a, 0).</summary>
    Relu,
}

/// <summary>What happens when an asynchronous instruction completes.</summary>
/// <param name="Kind">0 nothing, 1 activate <paramref name="Task"/>, 2 unblock it.</param>
/// <param name="Task">Local task id (0…31).</param>
public readonly record struct Completion(byte Kind, byte Task)
{
    /// <summary>Nothing happens.</summary>
    public static Completion None => default;
    /// <summary>Activates local task <paramref name="task"/>.</summary>
    public static Completion Activate(int task) => new(1, checked((byte)task));
    /// <summary>Unblocks local task <paramref name="task"/>.</summary>
    public static Completion Unblock(int task) => new(2, checked((byte)task));
}
