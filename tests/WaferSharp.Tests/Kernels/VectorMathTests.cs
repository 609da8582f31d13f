using System.Runtime.Intrinsics;
using WaferSharp.Tensors.Kernels;

namespace WaferSharp.Tests.Kernels;

public class VectorMathTests
{
    [Fact]
    public void ExpIsAccurateToAboutOneUlpOverTheFloatRange()
    {
        double worst = 0;
        for (float x = -87f; x < 88.3f; x += 0.0137f)
        {
            float got = VectorMath.Exp(Vector256.Create(x)).GetElement(3);
            double want = Math.Exp(x);
            worst = Math.Max(worst, Math.Abs(got - want) / want);
        }
        Assert.True(worst < 2.5e-7, $"worst relative error {worst}");
        Assert.Equal(0f, VectorMath.Exp(Vector256.Create(-100f)).GetElement(0));
        Assert.Equal(1f, VectorMath.Exp(Vector256.Create(0f)).GetElement(0));
    }
}
