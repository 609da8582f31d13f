using WaferSharp.Hardware;

namespace WaferSharp.Compiler.Placement;

/// <summary>
/// Packs region rectangles onto a (possibly defective) fabric. Regions are laid in shelves of one height, in the given
/// order, boustrophedon (left to right, then right to left on the next shelf), so consecutive regions — producers
/// and their consumers in topological order — sit next to each other. A rectangle never covers a dead PE: the
/// cursor skips past dead columns of the shelf. A region that does not fit the rest of its shelf but fits it at half
/// its width turns the corner: it becomes ⌈w/2⌉ columns × two shelves at the fabric edge where the shelf ends and the
/// next one starts, so shelf ends waste at most half a region. A region wider than a shelf takes whole shelves (its
/// dead PEs, if any, are left out of its defect-free <see cref="Tiles"/>, as in weight-streaming mode).
/// </summary>
public static class Floorplanner
{
    /// <summary>
    /// Places rectangles of the given widths and height <paramref name="shelfHeight"/> inside <paramref name="area"/>;
    /// null when they do not fit. <paramref name="acceptCorner"/> (region index, rectangle) may veto a corner shape
    /// (e.g. when the region's kernels need more SRAM per PE in it); the region then starts the next shelf.
    /// </summary>
    public static RegionRect[]? Pack(IReadOnlyList<int> widths, int shelfHeight, RegionRect area, DefectMap? defects, Func<int, RegionRect, bool>? acceptCorner = null)
    {
        var result = new RegionRect[widths.Count];
        int shelves = area.H / shelfHeight;
        int shelf = 0, cursor = 0; // cursor counts columns used from the shelf's starting side
        for (int i = 0; i < widths.Count; i++)
        {
            int w = widths[i];
            if (w > area.W)
            {
                // a block of whole shelves (dead PEs inside are left out of its tiles)
                int k = (w + area.W - 1) / area.W;
                if (cursor > 0) { shelf++; cursor = 0; }
                if (shelf + k > shelves) return null;
                result[i] = new RegionRect(area.X, area.Y + shelf * shelfHeight, area.W, k * shelfHeight);
                shelf += k;
                continue;
            }
            while (true)
            {
                if (shelf >= shelves) return null;
                int y = area.Y + shelf * shelfHeight;
                bool ltr = shelf % 2 == 0;
                if (cursor + w > area.W)
                {
                    // turn the corner: half the width, two shelves tall, at the edge where this shelf ends and the next starts
                    // (the narrowest that the caller accepts, up to the rest of the shelf)
                    int half = (w + 1) / 2, rest = area.W - cursor;
                    RegionRect? corner = null;
                    if (w > 1 && half <= rest && shelf + 1 < shelves)
                        foreach (int tw in new[] { half, half + (rest - half) / 4, half + (rest - half) / 2, rest })
                        {
                            var c = new RegionRect(ltr ? area.X + area.W - tw : area.X, y, tw, 2 * shelfHeight);
                            if (defects is not null && defects.CountDead(c.X, c.Y, c.W, c.H) > 0) continue;
                            if (acceptCorner is null || acceptCorner(i, c)) { corner = c; break; }
                        }
                    shelf++;
                    if (corner is null) { cursor = 0; continue; }
                    result[i] = corner;
                    cursor = corner.W;
                    break;
                }
                int x = ltr ? area.X + cursor : area.X + area.W - cursor - w;
                if (defects is null || defects.CountDead(x, y, w, shelfHeight) == 0)
                {
                    result[i] = new RegionRect(x, y, w, shelfHeight);
                    cursor += w;
                    break;
                }
                // skip past the dead column nearest to the cursor's side
                int skip = 1;
                for (int c = 0; c < w; c++)
                {
                    int col = ltr ? x + c : x + w - 1 - c;
                    if (defects.CountDead(col, y, 1, shelfHeight) > 0) skip = c + 1;
                }
                cursor += skip;
            }
        }
        return result;
    }

    /// <summary>
    /// The rectangle of a region of <paramref name="columns"/> shelf columns: up to a shelf's width it is columns ×
    /// shelf height; beyond, whole shelves stacked (the full width × k shelf heights).
    /// </summary>
    public static (int W, int H) Shape(int columns, int shelfHeight, int shelfWidth) =>
        columns <= shelfWidth ? (Math.Max(1, columns), shelfHeight) : (shelfWidth, (columns + shelfWidth - 1) / shelfWidth * shelfHeight);

    /// <summary>Shelf columns a packed rectangle takes (the inverse of <see cref="Shape"/>; a corner region counts both shelves).</summary>
    public static int Columns(RegionRect r, int shelfHeight, int shelfWidth) => r.H > shelfHeight ? Math.Min(shelfWidth, r.W) * (r.H / shelfHeight) : r.W;

    /// <summary>
    /// Splits a rectangle into defect-free tiles that cover exactly its live PEs (guillotine cuts around each dead PE:
    /// the columns west and east of it, and the parts of its column north and south of it).
    /// </summary>
    public static List<RegionRect> Tiles(RegionRect r, DefectMap? defects)
    {
        var tiles = new List<RegionRect>();
        if (defects is null || defects.DeadCount == 0) { tiles.Add(r); return tiles; }
        var dead = defects.Dead.Where(d => r.Contains(d.X, d.Y)).ToList();
        var stack = new Stack<(RegionRect Rect, List<(int X, int Y)> Dead)>();
        stack.Push((r, dead));
        while (stack.Count > 0)
        {
            var (rect, ds) = stack.Pop();
            if (rect.W <= 0 || rect.H <= 0) continue;
            if (ds.Count == 0) { tiles.Add(rect); continue; }
            var (dx, dy) = ds[ds.Count / 2];
            var parts = new[]
            {
                new RegionRect(rect.X, rect.Y, dx - rect.X, rect.H),
                new RegionRect(dx + 1, rect.Y, rect.X + rect.W - dx - 1, rect.H),
                new RegionRect(dx, rect.Y, 1, dy - rect.Y),
                new RegionRect(dx, dy + 1, 1, rect.Y + rect.H - dy - 1),
            };
            foreach (var part in parts)
            {
                if (part.W <= 0 || part.H <= 0) continue;
                stack.Push((part, ds.Where(d => part.Contains(d.X, d.Y)).ToList()));
            }
        }
        return tiles;
    }
}
