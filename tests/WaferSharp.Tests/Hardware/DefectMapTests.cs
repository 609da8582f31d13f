using WaferSharp.Hardware;

namespace WaferSharp.Tests.Hardware;

public class DefectMapTests
{
    [Fact]
    public void RandomIsDeterministicAndNearTheRate()
    {
        var a = DefectMap.Random(200, 300, 0.01, 7);
        var b = DefectMap.Random(200, 300, 0.01, 7);
        Assert.Equal(a.Dead, b.Dead);
        Assert.InRange(a.DeadCount, 480, 720); // 600 expected
        Assert.NotEqual(a.Dead, DefectMap.Random(200, 300, 0.01, 8).Dead);
        Assert.Equal(0, DefectMap.Random(10, 10, 0, 1).DeadCount);
        Assert.Throws<ArgumentException>(() => DefectMap.Random(10, 10, 1.5, 1));
    }

    [Fact]
    public void CountDeadMatchesBruteForce()
    {
        var m = DefectMap.Random(40, 30, 0.05, 3);
        var rng = new Random(1);
        for (int i = 0; i < 200; i++)
        {
            int x = rng.Next(-3, 40), y = rng.Next(-3, 30), w = rng.Next(0, 20), h = rng.Next(0, 20);
            int brute = 0;
            for (int yy = Math.Max(0, y); yy < Math.Min(30, y + h); yy++)
                for (int xx = Math.Max(0, x); xx < Math.Min(40, x + w); xx++)
                    if (m.IsDead(xx, yy)) brute++;
            Assert.Equal(brute, m.CountDead(x, y, w, h));
        }
    }

    [Fact]
    public void SavesAndLoads()
    {
        var m = DefectMap.Random(50, 20, 0.02, 5);
        var path = Path.Combine(Path.GetTempPath(), $"defects-{Guid.NewGuid():N}.txt");
        try
        {
            m.Save(path);
            var back = DefectMap.Load(path, 50, 20);
            Assert.Equal(m.Dead, back.Dead);
            Assert.Throws<InvalidDataException>(() => DefectMap.Load(path, 60, 20)); // header names another fabric
            File.WriteAllText(path, "3 4\n# comment\n5,6\nbad line\n");
            var e = Assert.Throws<InvalidDataException>(() => DefectMap.Load(path, 50, 20));
            Assert.Contains(":4:", e.Message);
            File.WriteAllText(path, "99 1\n");
            Assert.Contains("outside", Assert.Throws<InvalidDataException>(() => DefectMap.Load(path, 50, 20)).Message);
        }
        finally { File.Delete(path); }
    }
}
