namespace WaferSharp.Fabric;

/// <summary>A task body: runs to completion on one PE; instructions it issues advance that PE's clock.</summary>
public delegate void TaskBody(Pe pe);

/// <summary>A data-task body: runs once per wavelet arriving on its color, with the wavelet's 32-bit payload.</summary>
public delegate void DataTaskBody(Pe pe, uint wavelet);

/// <summary>
/// A per-PE program, the simulator's equivalent of a CSL kernel: one instance is loaded onto a <see cref="Region"/>
/// and runs on every PE of it. The constructor binds tasks (shared by all PEs, like code); <see cref="Setup"/> runs once
/// per PE at load time to set routes, place data and activate the first task. Per-PE variables live in SRAM or in
/// arrays the program indexes by <see cref="Pe.Lx"/>/<see cref="Pe.Ly"/>.
/// </summary>
public abstract class PeProgram
{
    internal readonly TaskBody?[] LocalTasks = new TaskBody?[32];
    internal readonly DataTaskBody?[] DataTasks = new DataTaskBody?[FabricSimulator.Colors];
    internal readonly string[] TaskNames = new string[32 + FabricSimulator.Colors];
    internal uint DataTaskMask; // colors with a bound data task, so the scheduler skips the others

    /// <summary>The region the program was loaded on (set by <see cref="FabricSimulator.Load"/>).</summary>
    public Region Region { get; internal set; }

    /// <summary>Name shown in traces.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Binds local task <paramref name="id"/> (0…31); it runs when activated and not blocked.</summary>
    public void BindLocalTask(int id, TaskBody body, string? name = null)
    {
        if ((uint)id >= 32) throw new ArgumentOutOfRangeException(nameof(id), $"local task id {id} must be 0…31");
        LocalTasks[id] = body;
        TaskNames[32 + id] = name ?? $"task{id}";
    }

    /// <summary>Binds the data task of <paramref name="color"/>: it runs once per wavelet the PE receives on it.</summary>
    public void BindDataTask(int color, DataTaskBody body, string? name = null)
    {
        if ((uint)color >= FabricSimulator.Colors) throw new ArgumentOutOfRangeException(nameof(color), $"color {color} must be 0…{FabricSimulator.Colors - 1}");
        DataTasks[color] = body;
        DataTaskMask |= 1u << color;
        TaskNames[color] = name ?? $"data{color}";
    }

    /// <summary>Per-PE initialisation at load time (routes, memory, first activation); costs no cycles.</summary>
    public abstract void Setup(Pe pe);
}
