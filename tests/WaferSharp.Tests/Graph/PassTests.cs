using FsCheck.Xunit;
using WaferSharp.Graph;
using WaferSharp.Graph.Execution;
using WaferSharp.Graph.Passes;
using WaferSharp.Tensors;
using G = WaferSharp.Graph.Graph;

namespace WaferSharp.Tests.Graph;

/// <summary>Graph passes: DCE, constant folding, CSE, elementwise fusion, the pass manager and the structural hash.</summary>
public class PassTests
{
    // ---------- helpers ----------

    private static DenseTensor Rand(Random rng, params int[] dims)
    {
        var t = DenseTensor.Zeros(dims);
        var s = t.AsFloat();
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 4 - 2);
        return t;
    }

    private static Dictionary<Value, DenseTensor> Feeds(G g, int seed)
    {
        var rng = new Random(seed);
        var d = new Dictionary<Value, DenseTensor>();
        foreach (var v in g.Inputs.Concat(g.Parameters).Concat(g.States)) d[v] = Rand(rng, v.Shape.ToArray());
        return d;
    }

    private static string Norm(string s) => s.Replace("\r\n", "\n");

    private static void AssertPrinted(string expected, G g) => Assert.Equal(Norm(expected), GraphPrinter.Print(g));

    /// <summary>Independent convexity check: no node outside a group is both reachable from it and reaching it.</summary>
    private static void AssertGroupsConvex(G g)
    {
        var nodes = g.Nodes;
        var users = new Dictionary<Node, List<Node>>();
        foreach (var n in nodes) users[n] = new List<Node>();
        foreach (var n in nodes)
            foreach (var v in n.Inputs)
                if (v.Producer is { } p && users.ContainsKey(p)) users[p].Add(n);
        foreach (var grp in nodes.Where(n => n.FusionGroup >= 0).GroupBy(n => n.FusionGroup))
        {
            var inside = grp.ToHashSet();
            // everything reachable from the group by paths that leave it
            var seen = new HashSet<Node>();
            var stack = new Stack<Node>(inside.SelectMany(n => users[n]).Where(u => !inside.Contains(u)));
            while (stack.Count > 0)
            {
                var u = stack.Pop();
                if (!seen.Add(u)) continue;
                foreach (var w in users[u])
                {
                    Assert.False(inside.Contains(w), $"fusion group {grp.Key} is not convex: a path leaves it through {u} and re-enters at {w}");
                    stack.Push(w);
                }
            }
            Assert.All(grp, n => Assert.Equal(OpKind.Elementwise, n.Op.Kind));
            Assert.Single(grp.Select(n => n.Outputs[0].Shape).Distinct());
        }
    }

    private static Value Full(GraphBuilder b, float value, params int[] dims) => b.Full(TensorType.F32(dims), value);

    // ---------- GraphRewrite ----------

    [Fact]
    public void ReplaceAllUses_RewritesInputsOutputsAndUpdates()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2));
        var w = b.Parameter("w", TensorType.F32(2));
        var e1 = b.Op("Relu", x);
        var e2 = b.Op("Relu", x);
        var s = b.Add(e2, w);
        b.Output("a", e2);
        b.Update(w, e2);
        int n = GraphRewrite.ReplaceAllUses(b.Graph, e2, e1);
        Assert.Equal(3, n);
        Assert.Same(e1, s.Producer!.Inputs[0]);
        Assert.Same(e1, b.Graph.Output("a"));
        Assert.Same(e1, b.Graph.Updates[0].NewValue);
        Assert.Same(w, b.Graph.Updates[0].Target);
        Assert.Throws<ArgumentException>(() => GraphRewrite.ReplaceAllUses(b.Graph, e1, b.Scalar(1)));
    }

    // ---------- DCE ----------

    [Fact]
    public void Dce_KeepsWhatOutputsAndUpdatesNeed_Golden()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 3));
        b.Input("unused", TensorType.F32(3));
        var w = b.Parameter("w", TensorType.F32(2, 3));
        b.State("s", TensorType.F32(1));
        var one = b.Scalar(1);
        b.Scalar(7); // unused constant
        var dead = b.Op("Relu", x);
        b.Add(dead, one); // dead chain
        var y = b.Add(x, w);
        var wNew = b.Add(w, one);
        b.Output("y", y);
        b.Update(w, wNew);

        int removed = DeadCodeElimination.Run(b.Graph, out int removedConsts);
        Assert.Equal(2, removed);
        Assert.Equal(1, removedConsts);
        b.Graph.Validate();
        AssertPrinted("""
            input %0: f32[2,3] "x"
            input %1: f32[3] "unused"
            param %2: f32[2,3] "w"
            state %3: f32[1] "s"
            const %4: f32[] = 1
            %5 = Add(%0, %2) : f32[2,3]
            %6 = Add(%2, %4) : f32[2,3]
            output "y" = %5
            update %2 <- %6

            """, b.Graph);
        Assert.Equal(0, DeadCodeElimination.Run(b.Graph));
    }

    [Fact]
    public void Dce_KeepsMultiUseChainsAndRemovesEverythingUnreachable()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4));
        var a = b.Op("Relu", x);
        var c = b.Add(a, a);
        b.Add(c, x); // dead
        b.Output("c", c);
        Assert.Equal(1, DeadCodeElimination.Run(b.Graph));
        Assert.Equal(2, b.Graph.Nodes.Count);

        var b2 = new GraphBuilder();
        var x2 = b2.Input("x", TensorType.F32(4));
        b2.Op("Relu", x2);
        Assert.Equal(1, DeadCodeElimination.Run(b2.Graph)); // no outputs: nothing is needed
        Assert.Empty(b2.Graph.Nodes);
        Assert.Single(b2.Graph.Inputs);
    }

    // ---------- constant folding ----------

    [Fact]
    public void Folding_FoldsAddOfConstants_AndLeavesLargeFull_Golden()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 2));
        var c1 = b.Constant(DenseTensor.FromArray([1f, 2f], 2));
        var c2 = b.Constant(DenseTensor.FromArray([10f, 20f], 2));
        var sum = b.Add(c1, c2);                   // folds
        var y = b.Add(x, sum);
        var big = Full(b, 0.5f, 512, 512);          // 262144 elements > 65536: stays a Full node
        var bigR = b.Op("Relu", big);               // its input is not a constant: stays
        b.Output("y", y);
        b.Output("big", bigR);

        int folded = ConstantFolding.Run(b.Graph);
        Assert.Equal(1, folded);
        DeadCodeElimination.Run(b.Graph);
        b.Graph.Validate();
        AssertPrinted("""
            input %0: f32[2,2] "x"
            const %1: f32[2]
            %2 = Add(%0, %1) : f32[2,2]
            %3 = Full{dtype="f32", shape=[512,512], value=0.5}() : f32[512,512]
            %4 = Relu(%3) : f32[512,512]
            output "y" = %2
            output "big" = %4

            """, b.Graph);
        var k = b.Graph.Constants.Single();
        Assert.Equal(new[] { 11f, 22f }, k.Data!.ToFloatArray());
    }

    [Fact]
    public void Folding_FoldsSmallFullAndChains_RespectsMaxElements()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(3));
        var f = Full(b, 2f, 3);
        var r = b.Op("Relu", b.Add(f, b.Scalar(-5)));  // Full → Add → Relu all fold
        b.Output("y", b.Add(x, r));
        var g = b.Graph;
        Assert.Equal(3, ConstantFolding.Run(g));
        DeadCodeElimination.Run(g);
        Assert.Single(g.Nodes);
        Assert.Equal(new[] { 0f, 0f, 0f }, g.Nodes[0].Inputs[1].Data!.ToFloatArray());

        var b2 = new GraphBuilder();
        var f2 = Full(b2, 1f, 4, 4);
        b2.Output("f", f2);
        Assert.Equal(0, ConstantFolding.Run(b2.Graph, maxElements: 15));
        Assert.Equal(1, ConstantFolding.Run(b2.Graph, maxElements: 16));
        Assert.Same(b2.Graph.Output("f"), b2.Graph.Constants.Single());
    }

    [Fact]
    public void Folding_IsBitwiseEqualToExecution()
    {
        var rng = new Random(5);
        var b = new GraphBuilder();
        var c1 = b.Constant(Rand(rng, 3, 4));
        var c2 = b.Constant(Rand(rng, 4));
        var v = b.Op("Tanh", b.Mul(b.Op("Exp", c1), c2));
        b.Output("v", v);
        var expected = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor>()).Outputs["v"];
        Assert.Equal(3, ConstantFolding.Run(b.Graph));
        Assert.Empty(b.Graph.Nodes);
        var actual = new CpuExecutor(b.Graph).Run(new Dictionary<Value, DenseTensor>()).Outputs["v"];
        Assert.True(expected.BitEquals(actual));
    }

    // ---------- CSE ----------

    [Fact]
    public void Cse_MergesDuplicateExp_Golden()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4));
        var e1 = b.Op("Exp", x);
        var e2 = b.Op("Exp", x);
        var t1 = b.Op("Tanh", e1);
        var t2 = b.Op("Tanh", e2);      // becomes a duplicate once e2 → e1
        var s = b.Add(t1, t2);
        var c1 = b.Scalar(2);
        var c2 = b.Scalar(2);           // identical constant
        var c3 = b.Scalar(-0f);         // 0 and -0 differ in bits
        var c4 = b.Scalar(0f);
        b.Output("y", b.Add(b.Mul(s, c1), b.Mul(s, c2)));
        b.Output("z", b.Add(b.Mul(s, c3), b.Mul(s, c4)));

        int merged = CommonSubexpressionElimination.Run(b.Graph);
        Assert.Equal(4, merged); // Exp, Tanh, Mul(s, 2) and the constant 2
        b.Graph.Validate();
        AssertPrinted("""
            input %0: f32[4] "x"
            const %1: f32[] = 2
            const %2: f32[] = -0
            const %3: f32[] = 0
            %4 = Exp(%0) : f32[4]
            %5 = Tanh(%4) : f32[4]
            %6 = Add(%5, %5) : f32[4]
            %7 = Mul(%6, %1) : f32[4]
            %8 = Add(%7, %7) : f32[4]
            %9 = Mul(%6, %2) : f32[4]
            %10 = Mul(%6, %3) : f32[4]
            %11 = Add(%9, %10) : f32[4]
            output "y" = %8
            output "z" = %11

            """, b.Graph);
        Assert.Equal(0, CommonSubexpressionElimination.Run(b.Graph));
    }

    [Fact]
    public void Cse_DoesNotMergeDifferentAttrsOrOperandOrder()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2));
        var y = b.Input("y", TensorType.F32(2));
        var f1 = Full(b, 1, 2);
        var f2 = Full(b, 2, 2);
        var f3 = Full(b, 1, 2);
        var a1 = b.Sub(x, y);
        var a2 = b.Sub(y, x);
        b.Output("o", b.Add(b.Add(b.Add(f1, f2), b.Add(f3, a1)), a2));
        Assert.Equal(1, CommonSubexpressionElimination.Run(b.Graph)); // only f3 == f1
        Assert.Equal(8, b.Graph.Nodes.Count);
    }

    // ---------- fusion ----------

    [Fact]
    public void Fusion_GroupsGeluLikeChain_Golden()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 8));
        var bias = b.Input("bias", TensorType.F32(8));
        var h = b.Add(x, bias);                     // broadcast operand from outside
        var m1 = b.Mul(h, b.Scalar(0.5f));
        var a = b.Add(m1, h);
        var t = b.Op("Tanh", a);
        var m2 = b.Mul(t, h);
        b.Output("y", m2);
        b.Output("t", t);

        Assert.Equal(1, ElementwiseFusion.Run(b.Graph));
        AssertPrinted("""
            input %0: f32[2,8] "x"
            input %1: f32[8] "bias"
            const %2: f32[] = 0.5
            %3 = Add(%0, %1) : f32[2,8]  #fuse0
            %4 = Mul(%3, %2) : f32[2,8]  #fuse0
            %5 = Add(%4, %3) : f32[2,8]  #fuse0
            %6 = Tanh(%5) : f32[2,8]  #fuse0
            %7 = Mul(%6, %3) : f32[2,8]  #fuse0
            output "y" = %7
            output "t" = %6

            """, b.Graph);
        var grp = ElementwiseFusion.FusionGroups(b.Graph).Single();
        Assert.Equal(0, grp.Id);
        Assert.Equal(5, grp.Nodes.Count);
        Assert.Equal(new[] { x, bias, grp.Nodes[1].Inputs[1] }, grp.Inputs);
        Assert.Equal(new[] { t, m2 }, grp.Exports);
        ElementwiseFusion.Verify(b.Graph);
        AssertGroupsConvex(b.Graph);
    }

    [Fact]
    public void Fusion_DoesNotCrossMatMulOrReduce()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4, 4));
        var w = b.Parameter("w", TensorType.F32(4, 4));
        var e = b.Op("Exp", x);
        var e2 = b.Mul(e, x);
        var mm = b.MatMul(e2, w);
        var t = b.Op("Tanh", mm);
        var n = b.Neg(t);
        var r = b.ReduceSum(n, [1], keepDims: true);  // [4,1]
        var s = b.Sub(x, r);                          // [4,4] with a broadcast operand
        var y = b.Op("Relu", s);
        b.Output("y", y);

        Assert.Equal(3, ElementwiseFusion.Run(b.Graph));
        Assert.Equal(0, e.Producer!.FusionGroup);
        Assert.Equal(0, e2.Producer!.FusionGroup);
        Assert.Equal(-1, mm.Producer!.FusionGroup);
        Assert.Equal(1, t.Producer!.FusionGroup);
        Assert.Equal(1, n.Producer!.FusionGroup);
        Assert.Equal(-1, r.Producer!.FusionGroup);
        Assert.Equal(2, s.Producer!.FusionGroup);
        Assert.Equal(2, y.Producer!.FusionGroup);
        var groups = ElementwiseFusion.FusionGroups(b.Graph);
        Assert.Equal(new[] { e2 }, groups[0].Exports);
        Assert.Equal(new[] { mm }, groups[1].Inputs);
        Assert.Equal(new[] { x, r }, groups[2].Inputs);
        AssertGroupsConvex(b.Graph);
    }

    [Fact]
    public void Fusion_DoesNotFuseDifferentShapes()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4));
        var y = b.Input("y", TensorType.F32(3, 1));
        var e = b.Op("Exp", x);        // [4]
        var s = b.Add(y, e);           // [3,4]
        var t = b.Op("Tanh", s);       // [3,4]
        b.Output("t", t);
        Assert.Equal(1, ElementwiseFusion.Run(b.Graph));
        Assert.Equal(-1, e.Producer!.FusionGroup);
        Assert.Equal(0, s.Producer!.FusionGroup);
        Assert.Equal(0, t.Producer!.FusionGroup);
    }

    [Fact]
    public void Fusion_DiamondThroughMatMul_IsNotFused()
    {
        // a → MatMul → c and a → c: putting a and c in one group would need the MatMul both before and after it
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4, 4));
        var w = b.Input("w", TensorType.F32(4, 4));
        var a = b.Op("Exp", x);
        var a2 = b.Op("Tanh", a);
        var m = b.MatMul(a2, w);
        var c = b.Add(a, m);
        var d = b.Neg(c);
        b.Output("d", d);

        Assert.Equal(2, ElementwiseFusion.Run(b.Graph));
        Assert.Equal(a.Producer!.FusionGroup, a2.Producer!.FusionGroup);
        Assert.NotEqual(a.Producer!.FusionGroup, c.Producer!.FusionGroup);
        Assert.Equal(c.Producer!.FusionGroup, d.Producer!.FusionGroup);
        Assert.True(c.Producer!.FusionGroup >= 0);
        ElementwiseFusion.Verify(b.Graph);
        AssertGroupsConvex(b.Graph);
    }

    [Fact]
    public void Fusion_TwoGroupsNeverDependOnEachOther()
    {
        // a1→a2 and b1→b2 are each fusable, but a1→MatMul→b2 and b1→MatMul→a2: fusing both pairs would make
        // the two kernels wait for each other. Only one pair may fuse.
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(4, 4));
        var w = b.Input("w", TensorType.F32(4, 4));
        var a1 = b.Op("Exp", x);
        var b1 = b.Op("Tanh", x);
        var m1 = b.MatMul(a1, w);
        var m2 = b.MatMul(b1, w);
        var a2 = b.Add(a1, m2);
        var b2 = b.Add(b1, m1);
        b.Output("a", a2);
        b.Output("b", b2);

        Assert.Equal(1, ElementwiseFusion.Run(b.Graph));
        bool aFused = a1.Producer!.FusionGroup >= 0 && a1.Producer!.FusionGroup == a2.Producer!.FusionGroup;
        bool bFused = b1.Producer!.FusionGroup >= 0 && b1.Producer!.FusionGroup == b2.Producer!.FusionGroup;
        Assert.True(aFused ^ bFused);
        ElementwiseFusion.Verify(b.Graph);

        // Verify rejects hand-made marks that fuse both pairs
        b2.Producer!.FusionGroup = b1.Producer!.FusionGroup = 1;
        a2.Producer!.FusionGroup = a1.Producer!.FusionGroup = 0;
        Assert.Throws<InvalidOperationException>(() => ElementwiseFusion.Verify(b.Graph));
    }

    [Fact]
    public void Fusion_MergesAcrossGapWhenLegal_AndContiguousReorderKeepsResults()
    {
        // a chain interleaved with unrelated non-fusable work still fuses into one group
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(3, 3));
        var w = b.Input("w", TensorType.F32(3, 3));
        var e = b.Op("Exp", x);
        var m = b.MatMul(x, w);       // independent of e
        var r = b.ReduceSum(m, [0], keepDims: true);
        var t = b.Op("Tanh", e);
        var s = b.Add(t, r);
        b.Output("s", s);
        var feeds = Feeds(b.Graph, 3);
        var before = new CpuExecutor(b.Graph).Run(feeds).Outputs["s"];

        Assert.Equal(1, ElementwiseFusion.Run(b.Graph, makeContiguous: true));
        b.Graph.Validate();
        var ids = b.Graph.Nodes.Select(n => n.FusionGroup).ToArray();
        Assert.Equal(new[] { -1, -1, 0, 0, 0 }, ids);
        Assert.True(before.BitEquals(new CpuExecutor(b.Graph).Run(feeds).Outputs["s"]));
    }

    [Fact]
    public void Fusion_RerunClearsOldMarks()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2));
        var e = b.Op("Exp", x);
        var t = b.Op("Tanh", e);
        b.Output("t", t);
        e.Producer!.FusionGroup = 7;
        Assert.Equal(1, ElementwiseFusion.Run(b.Graph));
        Assert.Equal(0, e.Producer!.FusionGroup);
        Assert.Equal(1, ElementwiseFusion.Run(b.Graph));
        Assert.Equal(0, t.Producer!.FusionGroup);
    }

    // ---------- pass manager ----------

    [Fact]
    public void Optimize_RunsAllPassesToFixedPoint()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2, 4));
        var p = b.Parameter("p", TensorType.F32(2, 4));
        var k = b.Add(b.Scalar(1), b.Scalar(2));          // folds to 3
        var k2 = b.Add(b.Scalar(2), b.Scalar(1));         // folds to 3: CSE merges the constants
        var u1 = b.Mul(x, k);
        var u2 = b.Mul(x, k2);                            // duplicate after folding + CSE
        var y = b.Op("Tanh", b.Add(u1, u2));
        b.Op("Exp", y);                                   // dead
        b.Output("y", y);
        b.Update(p, b.Sub(p, b.Mul(y, b.Scalar(0.25f))));
        var feeds = Feeds(b.Graph, 11);
        var before = new CpuExecutor(b.Graph).Run(feeds);
        int nodesBefore = b.Graph.Nodes.Count;

        var rep = PassManager.Optimize(b.Graph);
        Assert.Equal(2, rep.Folded);
        Assert.True(rep.Merged >= 2);
        Assert.Equal(1, rep.Removed);
        Assert.Equal(nodesBefore, rep.NodesBefore);
        Assert.Equal(b.Graph.Nodes.Count, rep.NodesAfter);
        Assert.Equal(1, rep.FusionGroups);
        AssertPrinted("""
            input %0: f32[2,4] "x"
            param %1: f32[2,4] "p"
            const %2: f32[] = 0.25
            const %3: f32[] = 3
            %4 = Mul(%0, %3) : f32[2,4]  #fuse0
            %5 = Add(%4, %4) : f32[2,4]  #fuse0
            %6 = Tanh(%5) : f32[2,4]  #fuse0
            %7 = Mul(%6, %2) : f32[2,4]  #fuse0
            %8 = Sub(%1, %7) : f32[2,4]  #fuse0
            output "y" = %6
            update %1 <- %8

            """, b.Graph);
        var after = new CpuExecutor(b.Graph).Run(feeds);
        Assert.True(before.Outputs["y"].BitEquals(after.Outputs["y"]));
        Assert.True(before.Updates[p].BitEquals(after.Updates[p]));
        Assert.Contains("folded 2", rep.ToString());

        // idempotent
        var rep2 = PassManager.Optimize(b.Graph);
        Assert.Equal(0, rep2.Folded + rep2.Merged + rep2.Removed + rep2.RemovedConstants);
        Assert.Equal(1, rep2.Iterations);
    }

    // ---------- hash ----------

    [Fact]
    public void GraphHash_IsStructuralAndSeesConstantBits()
    {
        static G Build(float c, string name = "x", bool extraValue = false)
        {
            var b = new GraphBuilder();
            if (extraValue) b.Input("zzz", TensorType.F32(1));
            var x = b.Input(name, TensorType.F32(2));
            var k = b.Constant(DenseTensor.FromArray([c, 1f], 2));
            b.Output("y", b.Add(x, k));
            return b.Graph;
        }
        var h = GraphHash.Compute(Build(0.5f));
        Assert.Matches("^[0-9a-f]{64}$", h);
        Assert.Equal(h, GraphHash.Compute(Build(0.5f)));
        Assert.NotEqual(h, GraphHash.Compute(Build(0.25f)));   // printer hides the data, the bits do not
        Assert.NotEqual(h, GraphHash.Compute(Build(0.5f, "x2")));
        Assert.NotEqual(h, GraphHash.Compute(Build(0.5f, extraValue: true)));

        // internal ids do not matter: a dead node removed by DCE gives the hash of a graph built without it
        var b = new GraphBuilder();
        var x = b.Input("x", TensorType.F32(2));
        b.Op("Relu", x);
        var k = b.Constant(DenseTensor.FromArray([0.5f, 1f], 2));
        b.Output("y", b.Add(x, k));
        Assert.NotEqual(h, GraphHash.Compute(b.Graph));
        DeadCodeElimination.Run(b.Graph);
        Assert.Equal(h, GraphHash.Compute(b.Graph));
    }

    /// <summary>Random [4,4] DAGs dense in MatMuls and reductions: fusion groups are convex, the contracted graph is
    /// acyclic, and groups are maximal (merging any two adjacent compatible groups would create a cycle).</summary>
    [Property(MaxTest = 200)]
    public void Fusion_IsConvexAndMaximal_OnRandomDags(int seed)
    {
        var rng = new Random(seed);
        var b = new GraphBuilder();
        var w = b.Input("w", TensorType.F32(4, 4));
        var pool = new List<Value> { b.Input("x", TensorType.F32(4, 4)), b.Input("y", TensorType.F32(4, 4)) };
        int count = rng.Next(2, 60);
        for (int i = 0; i < count; i++)
        {
            Value Pick() => rng.Next(2) == 0 ? pool[rng.Next(pool.Count)] : pool[Math.Max(0, pool.Count - 1 - rng.Next(5))];
            int k = rng.Next(10);
            pool.Add(k switch
            {
                0 or 1 => b.MatMul(Pick(), w),
                2 => b.Add(Pick(), b.ReduceSum(Pick(), [rng.Next(2)], keepDims: true)),
                < 6 => b.Op(Unary[rng.Next(Unary.Length)], Pick()),
                _ => b.Op(Binary[rng.Next(Binary.Length)], Pick(), Pick()),
            });
        }
        b.Output("o", pool[^1]);
        var g = b.Graph;
        ElementwiseFusion.Run(g);
        ElementwiseFusion.Verify(g);
        AssertGroupsConvex(g);

        // maximality: for every producer→consumer edge between different compatible groups, a merge must be illegal
        var nodes = g.Nodes;
        foreach (var n in nodes)
            foreach (var v in n.Inputs)
            {
                if (v.Producer is not { } p || !ElementwiseFusion.IsFusable(p) || !ElementwiseFusion.IsFusable(n)) continue;
                if (p.Outputs[0].Shape != n.Outputs[0].Shape) continue;
                if (p.FusionGroup >= 0 && p.FusionGroup == n.FusionGroup) continue;
                var saved = nodes.Select(x => x.FusionGroup).ToArray();
                int merged = 1000;
                int gp = p.FusionGroup, gn = n.FusionGroup;
                foreach (var x in nodes)
                    if (x == p || x == n || (gp >= 0 && x.FusionGroup == gp) || (gn >= 0 && x.FusionGroup == gn)) x.FusionGroup = merged;
                Assert.Throws<InvalidOperationException>(() => ElementwiseFusion.Verify(g));
                for (int i = 0; i < nodes.Count; i++) nodes[i].FusionGroup = saved[i];
            }
    }

    [Fact]
    public void Optimize_LargeGraphStaysFast()
    {
        // a long forward chain whose activations are reused much later (like a backward pass): many long-range edges
        var b = new GraphBuilder();
        var w = b.Input("w", TensorType.F32(2, 2));
        var h = b.Input("x", TensorType.F32(2, 2));
        var saved = new List<Value>();
        for (int i = 0; i < 600; i++)
        {
            h = b.Op("Tanh", b.Add(b.MatMul(h, w), h));
            saved.Add(h);
        }
        var gacc = h;
        for (int i = saved.Count - 1; i >= 0; i--) gacc = b.MatMul(b.Mul(gacc, b.Neg(saved[i])), w);
        b.Output("g", gacc);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var rep = PassManager.Optimize(b.Graph);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"optimize took {sw.Elapsed}"); // ~0.5 s in Release on one core
        Assert.Equal(600, rep.FusionGroups); // Add+Tanh+Neg per layer; the backward Mul waits for later layers
    }

    // ---------- property: random DAGs ----------

    private static readonly string[] Unary = ["Exp", "Tanh", "Neg", "Relu"];
    private static readonly string[] Binary = ["Add", "Mul", "Sub"];

    /// <summary>A random DAG of elementwise ops over broadcastable shapes, with duplicated subexpressions,
    /// constant-only subtrees, dead branches, a MatMul/ReduceSum now and then, outputs and an update.</summary>
    private static G RandomGraph(int seed)
    {
        var rng = new Random(seed);
        var b = new GraphBuilder();
        var pool = new List<Value>
        {
            b.Input("x", TensorType.F32(3, 4)),
            b.Input("y", TensorType.F32(3, 4)),
            b.Input("v", TensorType.F32(4)),
            b.Input("col", TensorType.F32(3, 1)),
        };
        var p = b.Parameter("p", TensorType.F32(3, 4));
        var w = b.Parameter("w", TensorType.F32(4, 4));
        pool.Add(p);
        var consts = new List<Value>();
        for (int i = 0, nc = rng.Next(1, 4); i < nc; i++)
        {
            float val = (float)Math.Round(rng.NextDouble() * 2 - 1, 2);
            consts.Add(b.Scalar(val));
            if (rng.Next(2) == 0) consts.Add(b.Scalar(val)); // duplicate constant
        }
        consts.Add(b.Constant(DenseTensor.FromArray([0.5f, -1f, 2f, 0.25f], 4)));
        consts.Add(Full(b, 0.75f, 3, 4));
        pool.AddRange(consts);

        var made = new List<(string Op, Value[] Ins)>();
        Value Pick() => rng.Next(3) == 0 ? pool[rng.Next(pool.Count)] : pool[Math.Max(0, pool.Count - 1 - rng.Next(6))];
        int count = rng.Next(4, 28);
        for (int i = 0; i < count; i++)
        {
            int kind = rng.Next(20);
            Value r;
            if (kind < 3 && made.Count > 0)
            {
                var (op, ins) = made[rng.Next(made.Count)]; // duplicated subexpression
                r = b.Op(op, ins);
            }
            else if (kind < 5)
            {
                var c1 = consts[rng.Next(consts.Count)];   // constant-only subtree
                var c2 = consts[rng.Next(consts.Count)];
                var op = Binary[rng.Next(Binary.Length)];
                r = b.Op(op, c1, c2);
                made.Add((op, [c1, c2]));
            }
            else if (kind == 5)
            {
                var a = pool.Where(v => v.Shape == new Shape(3, 4)).ToList();
                r = b.MatMul(a[rng.Next(a.Count)], w);
            }
            else if (kind == 6)
            {
                var a = pool.Where(v => v.Shape == new Shape(3, 4)).ToList();
                r = b.ReduceSum(a[rng.Next(a.Count)], [rng.Next(2)], keepDims: true);
            }
            else if (kind < 12)
            {
                var op = Unary[rng.Next(Unary.Length)];
                var a = Pick();
                r = b.Op(op, a);
                made.Add((op, [a]));
            }
            else
            {
                var op = Binary[rng.Next(Binary.Length)];
                var a1 = Pick();
                var a2 = Pick();
                r = b.Op(op, a1, a2);
                made.Add((op, [a1, a2]));
            }
            pool.Add(r);
        }
        var nodesOut = pool.Where(v => v.Kind == ValueKind.Node).ToList();
        int outs = rng.Next(1, 4);
        for (int i = 0; i < outs; i++)
            b.Output("o" + i, nodesOut.Count > 0 && rng.Next(5) > 0 ? nodesOut[Math.Max(0, nodesOut.Count - 1 - rng.Next(4))] : pool[rng.Next(pool.Count)]);
        var full = pool.Where(v => v.Shape == new Shape(3, 4)).ToList();
        b.Update(p, full[rng.Next(full.Count)]);
        return b.Graph;
    }

    [Property(MaxTest = 150)]
    public void Optimize_PreservesResultsBitwise_OnRandomDags(int seed)
    {
        var g = RandomGraph(seed);
        g.Validate();
        var feeds = Feeds(g, seed ^ 0x5eed);
        var before = new CpuExecutor(g).Run(feeds);
        int nodesBefore = g.Nodes.Count;
        string hashBefore = GraphHash.Compute(g);

        var rep = PassManager.Optimize(g); // validates
        g.Validate();
        Assert.True(g.Nodes.Count <= nodesBefore, $"node count grew: {nodesBefore} -> {g.Nodes.Count}");
        Assert.Equal(g.Nodes.Count, rep.NodesAfter);
        ElementwiseFusion.Verify(g);
        AssertGroupsConvex(g);
        // nothing left to do
        var g2Hash = GraphHash.Compute(g);
        Assert.Equal(0, ConstantFolding.Run(g) + CommonSubexpressionElimination.Run(g) + DeadCodeElimination.Run(g));
        Assert.Equal(g2Hash, GraphHash.Compute(g));
        if (rep.Folded + rep.Merged + rep.Removed + rep.FusionGroups > 0) Assert.NotEqual(hashBefore, g2Hash);

        var after = new CpuExecutor(g).Run(feeds);
        foreach (var (name, t) in before.Outputs)
            Assert.True(t.BitEquals(after.Outputs[name]), $"output {name} changed (seed {seed})\n{g}");
        foreach (var (target, t) in before.Updates)
            Assert.True(t.BitEquals(after.Updates[target]), $"update of {target.Name} changed (seed {seed})");

        // the contiguous schedule is a valid order with the same results
        Assert.Equal(rep.FusionGroups, ElementwiseFusion.Run(g, makeContiguous: true));
        g.Validate();
        foreach (var grp in ElementwiseFusion.FusionGroups(g))
        {
            int first = g.Nodes.ToList().IndexOf(grp.Nodes[0]);
            for (int i = 0; i < grp.Nodes.Count; i++) Assert.Same(grp.Nodes[i], g.Nodes[first + i]);
        }
        var again = new CpuExecutor(g).Run(feeds);
        foreach (var (name, t) in before.Outputs) Assert.True(t.BitEquals(again.Outputs[name]));
    }
}
