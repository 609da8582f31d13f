using WaferSharp.Tensors;

namespace WaferSharp.Graph.Execution;

/// <summary>Runs one op's reference kernel with the dtype policy: 16-bit floats are stored as such but computed in float32.</summary>
public static class KernelInvoker
{
    /// <summary>Infers output types, then runs the kernel. Used by eager execution.</summary>
    public static DenseTensor[] Run(OpDef op, IReadOnlyList<DenseTensor> inputs, Attrs attrs)
    {
        var types = op.InferTypes(inputs.Select(t => new TensorType(t.DType, t.Shape)).ToArray(), attrs);
        return Run(op, inputs, attrs, types);
    }

    /// <summary>Runs the kernel for known output types.</summary>
    public static DenseTensor[] Run(OpDef op, IReadOnlyList<DenseTensor> inputs, Attrs attrs, TensorType[] outTypes, bool[]? donated = null)
    {
        IReadOnlyList<DenseTensor> ins = inputs;
        TensorType[] kernelTypes = outTypes;
        bool lowPrecision = false;
        if (op.ComputesInFloat32)
        {
            for (int i = 0; i < inputs.Count; i++)
                if (inputs[i].DType is DType.BFloat16 or DType.Float16) { lowPrecision = true; break; }
            foreach (var t in outTypes) if (t.DType is DType.BFloat16 or DType.Float16) lowPrecision = true;
            if (lowPrecision)
            {
                ins = inputs.Select(t => t.DType is DType.BFloat16 or DType.Float16 ? t.To(DType.Float32) : t).ToArray();
                kernelTypes = outTypes.Select(t => t.DType is DType.BFloat16 or DType.Float16 ? t.WithDType(DType.Float32) : t).ToArray();
            }
        }
        var outs = donated is not null && !lowPrecision ? op.ExecuteDonated(ins, donated, attrs, kernelTypes) : op.Execute(ins, attrs, kernelTypes);
        if (outs.Length != outTypes.Length) throw new InvalidOperationException($"{op.Name} kernel returned {outs.Length} outputs, rule says {outTypes.Length}");
        for (int i = 0; i < outs.Length; i++)
        {
            if (outs[i].DType != outTypes[i].DType) outs[i] = outs[i].To(outTypes[i].DType);
            if (outs[i].Shape != outTypes[i].Shape)
                throw new InvalidOperationException($"{op.Name} kernel produced {outs[i].Shape} but its rule says {outTypes[i].Shape}");
        }
        return outs;
    }
}
