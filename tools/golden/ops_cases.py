"""Per-op golden cases: writes tests/fixtures/golden/ops.json and ops/<name>.npz.

Each case is (name, op, attrs, input-builder, grad_inputs, tol). The forward
is computed by REF[op](inputs, attrs), a PyTorch implementation of OUR op
semantics that reads only the attrs written into ops.json, so the JSON
attributes and the stored values cannot disagree.

npz layout per case (see README.md):
  in0, in1, ...   inputs (float32 / int64 / bool)
  out0, out1, ... forward outputs
  gout0, ...      upstream gradients, one per output (only if grad_inputs != [])
  gin<i>          d sum_j(out_j * gout_j) / d in<i>, for i in grad_inputs
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FIXTURE_DIR, Rng, check_arrays, save_json, save_npz, setup_torch, to_np  # noqa: E402

# --------------------------------------------------------------------------
# Reference implementations of our ops (torch 1.13, float32).
# --------------------------------------------------------------------------


def _cast(x, to):
    if to == "f32":
        return x.to(torch.float32)
    if to == "i64":
        return x.to(torch.int64)  # float -> int truncates toward zero
    if to == "i32":
        return x.to(torch.int32)
    if to == "bool":
        return x != 0
    if to == "bf16":  # round-to-nearest-even, stored back as float32
        return x.to(torch.bfloat16).to(torch.float32)
    if to == "f16":
        return x.to(torch.float16).to(torch.float32)
    raise ValueError(to)


def _gather(data, idx, axis):
    axis = axis % data.dim()
    flat = data.index_select(axis, idx.reshape(-1))
    shape = tuple(data.shape[:axis]) + tuple(idx.shape) + tuple(data.shape[axis + 1:])
    return flat.reshape(shape)


def _slice(x, axis, start, end, step):
    axis = axis % x.dim()
    sl = [slice(None)] * x.dim()
    sl[axis] = slice(start, end, step)
    return x[tuple(sl)]


def _sdpa(q, k, v, causal, scale):
    d = q.shape[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    att = torch.matmul(q, k.transpose(-2, -1)) * scale
    if causal:
        tq, tk = att.shape[-2], att.shape[-1]
        mask = torch.ones(tq, tk, dtype=torch.bool).triu(1)  # True above the diagonal
        att = att.masked_fill(mask, float("-inf"))
    return torch.matmul(torch.softmax(att, dim=-1), v)


def rope_cos_sin(t, d, base):
    """HF/Llama rotary tables in float32: [T, D] each."""
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    pos = torch.arange(t, dtype=torch.float32)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def _rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def _rope(x, base):
    cos, sin = rope_cos_sin(x.shape[-2], x.shape[-1], base)
    return x * cos + _rotate_half(x) * sin


def _rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def _cross_entropy(logits, target, ignore_index):
    c = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, c), target.reshape(-1), ignore_index=ignore_index)


REF = {
    # elementwise binary (broadcasting)
    "Add": lambda x, a: x[0] + x[1],
    "Sub": lambda x, a: x[0] - x[1],
    "Mul": lambda x, a: x[0] * x[1],
    "Div": lambda x, a: x[0] / x[1],
    "Pow": lambda x, a: torch.pow(x[0], x[1]),
    # comparisons
    "Equal": lambda x, a: torch.eq(x[0], x[1]),
    "NotEqual": lambda x, a: torch.ne(x[0], x[1]),
    "Less": lambda x, a: torch.lt(x[0], x[1]),
    "LessEqual": lambda x, a: torch.le(x[0], x[1]),
    "Greater": lambda x, a: torch.gt(x[0], x[1]),
    "GreaterEqual": lambda x, a: torch.ge(x[0], x[1]),
    "Where": lambda x, a: torch.where(x[0], x[1], x[2]),
    # unary
    "Neg": lambda x, a: -x[0],
    "Exp": lambda x, a: torch.exp(x[0]),
    "Log": lambda x, a: torch.log(x[0]),
    "Sqrt": lambda x, a: torch.sqrt(x[0]),
    "Rsqrt": lambda x, a: torch.rsqrt(x[0]),
    "Tanh": lambda x, a: torch.tanh(x[0]),
    "Erf": lambda x, a: torch.erf(x[0]),
    "Sigmoid": lambda x, a: torch.sigmoid(x[0]),
    "Relu": lambda x, a: torch.relu(x[0]),
    "Silu": lambda x, a: F.silu(x[0]),
    "Gelu": lambda x, a: F.gelu(x[0], approximate=a["approximate"]),
    "Cast": lambda x, a: _cast(x[0], a["to"]),
    # linear algebra
    "MatMul": lambda x, a: torch.matmul(x[0], x[1]),
    "Linear": lambda x, a: F.linear(x[0], x[1], x[2] if a.get("bias", True) else None),
    # normalisation / activation over an axis
    "Softmax": lambda x, a: torch.softmax(x[0], dim=a["axis"]),
    "LogSoftmax": lambda x, a: torch.log_softmax(x[0], dim=a["axis"]),
    "LayerNorm": lambda x, a: F.layer_norm(x[0], x[0].shape[-1:], x[1], x[2], eps=a["eps"]),
    "RMSNorm": lambda x, a: _rmsnorm(x[0], x[1], a["eps"]),
    # indexing
    "Embedding": lambda x, a: F.embedding(x[1], x[0]),
    "Gather": lambda x, a: _gather(x[0], x[1], a["axis"]),
    # shape
    "Reshape": lambda x, a: x[0].reshape(a["shape"]),
    "Transpose": lambda x, a: x[0].permute(a["perm"]),
    "Slice": lambda x, a: _slice(x[0], a["axis"], a["start"], a["end"], a["step"]),
    "Concat": lambda x, a: torch.cat(list(x), dim=a["axis"]),
    "Split": lambda x, a: tuple(torch.split(x[0], a["sizes"], dim=a["axis"])),
    # reductions
    "ReduceSum": lambda x, a: torch.sum(x[0], dim=tuple(a["axes"]), keepdim=a["keepdims"]),
    "ReduceMean": lambda x, a: torch.mean(x[0], dim=tuple(a["axes"]), keepdim=a["keepdims"]),
    "ReduceMax": lambda x, a: torch.amax(x[0], dim=tuple(a["axes"]), keepdim=a["keepdims"]),
    # misc
    "Dropout": lambda x, a: F.dropout(x[0], p=a["p"], training=True),
    "ScaledDotProductAttention": lambda x, a: _sdpa(x[0], x[1], x[2], a["causal"], a["scale"]),
    "Rope": lambda x, a: _rope(x[0], a["base"]),
    "CrossEntropy": lambda x, a: _cross_entropy(x[0], x[1], a["ignore_index"]),
    "MseLoss": lambda x, a: F.mse_loss(x[0], x[1], reduction="mean"),
}

# --------------------------------------------------------------------------
# Case table.
# --------------------------------------------------------------------------

CASES = []


def case(name, op, attrs, inputs, grad_inputs, tol=1e-5):
    """inputs: function Rng -> list of torch tensors."""
    assert op in REF, op
    assert all(c["name"] != name for c in CASES), name
    CASES.append(dict(name=name, op=op, attrs=attrs, build=inputs, grad_inputs=list(grad_inputs), tol=tol))


def pos(r, *shape):
    """Strictly positive floats in [0.5, 2)."""
    return r.uniform(0.5, 2.0, *shape)


def away_from_zero(r, *shape):
    """|x| in [0.5, 2) with random sign (safe divisor)."""
    sign = torch.where(r.bernoulli(0.5, *shape), 1.0, -1.0)
    return sign * r.uniform(0.5, 2.0, *shape)


def small_ints(r, *shape):
    """Integer-valued floats in [-2, 2] (so comparisons hit equality)."""
    return r.randint(-2, 3, *shape).to(torch.float32)


def distinct(r, *shape):
    """Values without ties along any axis (a random permutation of a spaced grid)."""
    n = int(np.prod(shape))
    return ((r.perm(n).to(torch.float32) - n / 2) * 0.25 + 0.01 * r.uniform(0, 1, n)).reshape(shape)


# ---- elementwise binary (NumPy broadcasting) ----
case("add_same_shape", "Add", {}, lambda r: [r.randn(2, 3), r.randn(2, 3)], [0, 1])
case("add_broadcast_trailing", "Add", {}, lambda r: [r.randn(2, 3, 4), r.randn(4)], [0, 1])
case("add_broadcast_both", "Add", {}, lambda r: [r.randn(2, 1, 4), r.randn(3, 1)], [0, 1])
case("add_scalar_rhs", "Add", {}, lambda r: [r.randn(3, 4), r.randn()], [0, 1])

case("sub_broadcast_trailing", "Sub", {}, lambda r: [r.randn(2, 3, 4), r.randn(4)], [0, 1])
case("sub_broadcast_lhs", "Sub", {}, lambda r: [r.randn(3, 1), r.randn(2, 3, 4)], [0, 1])

case("mul_same_shape", "Mul", {}, lambda r: [r.randn(4, 5), r.randn(4, 5)], [0, 1])
case("mul_broadcast_both", "Mul", {}, lambda r: [r.randn(2, 1, 4), r.randn(3, 1)], [0, 1])
case("mul_broadcast_middle", "Mul", {}, lambda r: [r.randn(2, 3, 4), r.randn(1, 3, 1)], [0, 1])

case("div_same_shape", "Div", {}, lambda r: [r.randn(3, 4), away_from_zero(r, 3, 4)], [0, 1])
case("div_broadcast_both", "Div", {}, lambda r: [r.randn(2, 1, 4), away_from_zero(r, 3, 1)], [0, 1])
case("div_broadcast_numerator", "Div", {}, lambda r: [r.randn(4), away_from_zero(r, 2, 3, 4)], [0, 1])

case("pow_same_shape", "Pow", {}, lambda r: [pos(r, 3, 4), r.randn(3, 4)], [0, 1], tol=1e-5)
case("pow_broadcast_exponent", "Pow", {}, lambda r: [pos(r, 2, 3, 4), r.randn(4)], [0, 1], tol=1e-5)
case("pow_broadcast_both", "Pow", {}, lambda r: [pos(r, 2, 1, 4), r.uniform(-2.0, 3.0, 3, 1)], [0, 1], tol=1e-5)

# ---- comparisons (bool output, no grads) ----
case("equal_same_shape", "Equal", {}, lambda r: [small_ints(r, 3, 4), small_ints(r, 3, 4)], [], tol=0)
case("equal_broadcast", "Equal", {}, lambda r: [small_ints(r, 2, 1, 4), small_ints(r, 3, 1)], [], tol=0)
case("notequal_broadcast", "NotEqual", {}, lambda r: [small_ints(r, 2, 3, 4), small_ints(r, 4)], [], tol=0)
case("less_broadcast", "Less", {}, lambda r: [small_ints(r, 2, 3, 4), small_ints(r, 4)], [], tol=0)
case("lessequal_broadcast", "LessEqual", {}, lambda r: [small_ints(r, 2, 1, 4), small_ints(r, 3, 1)], [], tol=0)
case("greater_broadcast", "Greater", {}, lambda r: [small_ints(r, 3, 1), small_ints(r, 2, 3, 4)], [], tol=0)
case("greaterequal_same_shape", "GreaterEqual", {}, lambda r: [small_ints(r, 3, 4), small_ints(r, 3, 4)], [], tol=0)

# ---- Where(cond, a, b) ----
case("where_same_shape", "Where", {}, lambda r: [r.bernoulli(0.5, 3, 4), r.randn(3, 4), r.randn(3, 4)], [1, 2])
case("where_broadcast", "Where", {},
     lambda r: [r.bernoulli(0.5, 2, 1, 4), r.randn(3, 4), r.randn(1)], [1, 2])
case("where_broadcast_cond", "Where", {},
     lambda r: [r.bernoulli(0.5, 4), r.randn(2, 3, 4), r.randn(2, 3, 1)], [1, 2])

# ---- unary ----
case("neg", "Neg", {}, lambda r: [r.randn(3, 4)], [0])
case("exp", "Exp", {}, lambda r: [r.uniform(-4.0, 4.0, 3, 5)], [0])
case("log", "Log", {}, lambda r: [r.uniform(0.05, 5.0, 3, 5)], [0])
case("sqrt", "Sqrt", {}, lambda r: [r.uniform(0.05, 5.0, 3, 5)], [0])
case("rsqrt", "Rsqrt", {}, lambda r: [r.uniform(0.1, 5.0, 3, 5)], [0])
case("tanh", "Tanh", {}, lambda r: [3.0 * r.randn(3, 5)], [0])
case("erf", "Erf", {}, lambda r: [2.0 * r.randn(3, 5)], [0])
case("sigmoid", "Sigmoid", {}, lambda r: [4.0 * r.randn(3, 5)], [0])
case("relu", "Relu", {}, lambda r: [r.randn(3, 5)], [0])
case("silu", "Silu", {}, lambda r: [3.0 * r.randn(3, 5)], [0])
case("gelu_none", "Gelu", {"approximate": "none"}, lambda r: [3.0 * r.randn(3, 5)], [0])
case("gelu_tanh", "Gelu", {"approximate": "tanh"}, lambda r: [3.0 * r.randn(3, 5)], [0])

# ---- Cast (no grads; bf16/f16 outputs stored as float32) ----
_CAST_F = [0.0, -0.0, 0.4, 0.5, 0.6, 1.5, 2.5, -0.4, -0.5, -1.5, -2.7, 3.99, -3.99, 100.25, -7.0, 12345.678]
# bf16 round-to-nearest-even probes: 1+2^-8 (tie -> 1), 1+3*2^-8 (tie -> up), 1+2^-8+2^-20 (above tie -> up).
_BF16_PROBES = [1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, 1.0 + 2.0 ** -8 + 2.0 ** -20, -(1.0 + 2.0 ** -8),
                3.14159265, -2.71828183, 65504.0, 1e-3, 0.0, 1e30, -1e-30, 0.1]
# f16 probes: 1+2^-11 (tie -> 1), 1+3*2^-11 (tie -> up), max f16 65504, smallest normal, a subnormal.
_F16_PROBES = [1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20, 65504.0, -65504.0,
               6.103515625e-05, 1e-6, 3.14159265, -2.71828183, 0.1, 0.0, 1000.3]


def _cast_input(values, r, extra):
    base = torch.tensor(values, dtype=torch.float32)
    return torch.cat([base, extra]).reshape(-1, 4)


case("cast_f32_to_i64", "Cast", {"to": "i64"},
     lambda r: [_cast_input(_CAST_F, r, 20.0 * r.randn(8))], [], tol=0)
case("cast_f32_to_i32", "Cast", {"to": "i32"},
     lambda r: [_cast_input(_CAST_F, r, 20.0 * r.randn(8))], [], tol=0)
case("cast_f32_to_bool", "Cast", {"to": "bool"},
     lambda r: [_cast_input(_CAST_F, r, torch.where(r.bernoulli(0.5, 8), 0.0, 1.0) * r.randn(8))], [], tol=0)
case("cast_f32_to_bf16", "Cast", {"to": "bf16"},
     lambda r: [_cast_input(_BF16_PROBES, r, r.randn(12))], [], tol=0)
case("cast_f32_to_f16", "Cast", {"to": "f16"},
     lambda r: [_cast_input(_F16_PROBES, r, r.randn(12))], [], tol=0)
case("cast_i64_to_f32", "Cast", {"to": "f32"},
     lambda r: [torch.tensor([0, 1, -1, 7, -123456, 16777217, -(2 ** 40) - 1, 2 ** 31], dtype=torch.int64).reshape(2, 4)],
     [], tol=0)

# ---- MatMul (torch.matmul semantics) ----
case("matmul_batched_rhs2d", "MatMul", {}, lambda r: [r.randn(2, 3, 4, 5), r.randn(5, 6)], [0, 1], tol=1e-4)
case("matmul_broadcast_batch", "MatMul", {}, lambda r: [r.randn(2, 1, 4, 5), r.randn(3, 5, 6)], [0, 1], tol=1e-4)
case("matmul_vec_mat", "MatMul", {}, lambda r: [r.randn(5), r.randn(5, 6)], [0, 1], tol=1e-4)
case("matmul_batched_mat_vec", "MatMul", {}, lambda r: [r.randn(2, 4, 5), r.randn(5)], [0, 1], tol=1e-4)

# ---- Linear ----
case("linear_3d_bias", "Linear", {}, lambda r: [r.randn(2, 3, 8), r.randn(6, 8), r.randn(6)], [0, 1, 2], tol=1e-4)
case("linear_2d_no_bias", "Linear", {"bias": False}, lambda r: [r.randn(4, 8), r.randn(5, 8)], [0, 1], tol=1e-4)

# ---- Softmax / LogSoftmax ----
case("softmax_last_axis", "Softmax", {"axis": -1}, lambda r: [2.0 * r.randn(2, 3, 5)], [0], tol=1e-5)
case("softmax_axis1", "Softmax", {"axis": 1}, lambda r: [2.0 * r.randn(2, 4, 3)], [0], tol=1e-5)
case("softmax_large_logits", "Softmax", {"axis": -1}, lambda r: [80.0 + 10.0 * r.randn(3, 6)], [0], tol=1e-5)
case("logsoftmax_last_axis", "LogSoftmax", {"axis": -1}, lambda r: [2.0 * r.randn(2, 3, 5)], [0], tol=1e-5)
case("logsoftmax_axis0", "LogSoftmax", {"axis": 0}, lambda r: [2.0 * r.randn(4, 3)], [0], tol=1e-5)
case("logsoftmax_large_logits", "LogSoftmax", {"axis": -2}, lambda r: [-90.0 + 10.0 * r.randn(6, 3)], [0], tol=1e-4)

# ---- LayerNorm / RMSNorm (last dim) ----
case("layernorm_3d", "LayerNorm", {"eps": 1e-5},
     lambda r: [r.randn(2, 3, 16), 1.0 + 0.1 * r.randn(16), 0.1 * r.randn(16)], [0, 1, 2], tol=1e-4)
case("layernorm_2d_offset", "LayerNorm", {"eps": 1e-5},
     lambda r: [5.0 + 2.0 * r.randn(4, 8), r.randn(8), r.randn(8)], [0, 1, 2], tol=1e-4)
case("rmsnorm_3d", "RMSNorm", {"eps": 1e-6},
     lambda r: [r.randn(2, 3, 16), 1.0 + 0.1 * r.randn(16)], [0, 1], tol=1e-4)
case("rmsnorm_2d", "RMSNorm", {"eps": 1e-6},
     lambda r: [3.0 * r.randn(4, 8), r.randn(8)], [0, 1], tol=1e-4)

# ---- Embedding / Gather ----
case("embedding_2d_indices", "Embedding", {},
     lambda r: [r.randn(10, 4), torch.tensor([[1, 3, 3, 0, 9], [3, 7, 1, 1, 3]], dtype=torch.int64)], [0])
case("embedding_1d_indices", "Embedding", {},
     lambda r: [r.randn(6, 3), torch.tensor([5, 0, 5, 2, 5, 5], dtype=torch.int64)], [0])
case("gather_axis0", "Gather", {"axis": 0},
     lambda r: [r.randn(5, 3), torch.tensor([4, 0, 2, 4], dtype=torch.int64)], [0])
case("gather_axis_neg1_2d_indices", "Gather", {"axis": -1},
     lambda r: [r.randn(2, 3, 5), torch.tensor([[0, 4], [4, 2]], dtype=torch.int64)], [0])
case("gather_axis1_scalar_index", "Gather", {"axis": 1},
     lambda r: [r.randn(2, 4, 3), torch.tensor(2, dtype=torch.int64)], [0])

# ---- Reshape / Transpose / Slice / Concat / Split ----
case("reshape_infer", "Reshape", {"shape": [6, -1]}, lambda r: [r.randn(2, 3, 4)], [0])
case("reshape_expand_rank", "Reshape", {"shape": [4, 3, 2]}, lambda r: [r.randn(2, 12)], [0])
case("reshape_flatten", "Reshape", {"shape": [-1]}, lambda r: [r.randn(2, 3, 2)], [0])

case("transpose_3d", "Transpose", {"perm": [2, 0, 1]}, lambda r: [r.randn(2, 3, 4)], [0])
case("transpose_heads", "Transpose", {"perm": [0, 2, 1, 3]}, lambda r: [r.randn(2, 3, 4, 5)], [0])
case("transpose_2d", "Transpose", {"perm": [1, 0]}, lambda r: [r.randn(3, 5)], [0])

case("slice_axis1", "Slice", {"axis": 1, "start": 1, "end": 3, "step": 1}, lambda r: [r.randn(2, 5, 3)], [0])
case("slice_neg_axis_step2_clamped_end", "Slice", {"axis": -1, "start": 1, "end": 1000, "step": 2},
     lambda r: [r.randn(2, 3, 7)], [0])
case("slice_negative_start_end", "Slice", {"axis": 0, "start": -4, "end": -1, "step": 1},
     lambda r: [r.randn(6, 3)], [0])
case("slice_clamped_start_step3", "Slice", {"axis": -2, "start": -100, "end": 7, "step": 3},
     lambda r: [r.randn(2, 8, 2)], [0])

case("concat_axis1_three", "Concat", {"axis": 1},
     lambda r: [r.randn(2, 1, 3), r.randn(2, 2, 3), r.randn(2, 3, 3)], [0, 1, 2])
case("concat_axis_neg1", "Concat", {"axis": -1}, lambda r: [r.randn(3, 2), r.randn(3, 4)], [0, 1])

case("split_axis1", "Split", {"axis": 1, "sizes": [1, 2, 3]}, lambda r: [r.randn(2, 6, 3)], [0])
case("split_axis_neg1", "Split", {"axis": -1, "sizes": [2, 2]}, lambda r: [r.randn(3, 4)], [0])

# ---- reductions ----
case("reducesum_axis1", "ReduceSum", {"axes": [1], "keepdims": False}, lambda r: [r.randn(2, 3, 4)], [0])
case("reducesum_axes02_keepdims", "ReduceSum", {"axes": [0, 2], "keepdims": True}, lambda r: [r.randn(2, 3, 4)], [0])
case("reducesum_neg_axis", "ReduceSum", {"axes": [-1], "keepdims": True}, lambda r: [r.randn(3, 5)], [0])
case("reducesum_all", "ReduceSum", {"axes": [0, 1, 2], "keepdims": False}, lambda r: [r.randn(2, 3, 4)], [0])

case("reducemean_axis_neg1", "ReduceMean", {"axes": [-1], "keepdims": False}, lambda r: [r.randn(2, 3, 4)], [0])
case("reducemean_axes01_keepdims", "ReduceMean", {"axes": [0, 1], "keepdims": True}, lambda r: [r.randn(2, 3, 4)], [0])
case("reducemean_all", "ReduceMean", {"axes": [0, 1], "keepdims": False}, lambda r: [r.randn(4, 5)], [0])

case("reducemax_axis1", "ReduceMax", {"axes": [1], "keepdims": False}, lambda r: [distinct(r, 2, 5, 3)], [0])
case("reducemax_neg_axes_keepdims", "ReduceMax", {"axes": [-2, -1], "keepdims": True},
     lambda r: [distinct(r, 2, 3, 4)], [0])
case("reducemax_axis0", "ReduceMax", {"axes": [0], "keepdims": True}, lambda r: [distinct(r, 4, 3)], [0])

# ---- Dropout (p=0 only: identity) ----
case("dropout_p0", "Dropout", {"p": 0.0}, lambda r: [r.randn(3, 4)], [0])

# ---- attention / rope ----
case("sdpa_causal", "ScaledDotProductAttention", {"causal": True, "scale": None},
     lambda r: [r.randn(2, 2, 5, 4), r.randn(2, 2, 5, 4), r.randn(2, 2, 5, 4)], [0, 1, 2], tol=1e-4)
case("sdpa_noncausal", "ScaledDotProductAttention", {"causal": False, "scale": None},
     lambda r: [r.randn(2, 2, 5, 4), r.randn(2, 2, 5, 4), r.randn(2, 2, 5, 4)], [0, 1, 2], tol=1e-4)
case("sdpa_causal_scale", "ScaledDotProductAttention", {"causal": True, "scale": 0.3},
     lambda r: [r.randn(1, 3, 6, 8), r.randn(1, 3, 6, 8), r.randn(1, 3, 6, 8)], [0, 1, 2], tol=1e-4)

case("rope_base10000", "Rope", {"base": 10000.0}, lambda r: [r.randn(2, 2, 6, 8)], [0], tol=1e-5)
case("rope_base500_long", "Rope", {"base": 500.0}, lambda r: [r.randn(1, 3, 16, 4)], [0], tol=1e-4)

# ---- losses ----
case("cross_entropy_2d", "CrossEntropy", {"ignore_index": -100},
     lambda r: [2.0 * r.randn(6, 5), r.randint(0, 5, 6)], [0], tol=1e-5)
case("cross_entropy_ignore_index", "CrossEntropy", {"ignore_index": -100},
     lambda r: [2.0 * r.randn(6, 5), torch.tensor([1, -100, 4, 0, -100, 4], dtype=torch.int64)], [0], tol=1e-5)
case("cross_entropy_3d", "CrossEntropy", {"ignore_index": -100},
     lambda r: [2.0 * r.randn(2, 4, 7), r.randint(0, 7, 2, 4)], [0], tol=1e-5)
case("cross_entropy_custom_ignore", "CrossEntropy", {"ignore_index": 2},
     lambda r: [2.0 * r.randn(2, 3, 4), torch.tensor([[2, 0, 3], [1, 2, 2]], dtype=torch.int64)], [0], tol=1e-5)

case("mse_loss_2d", "MseLoss", {}, lambda r: [r.randn(4, 5), r.randn(4, 5)], [0, 1], tol=1e-5)
case("mse_loss_3d", "MseLoss", {}, lambda r: [r.randn(2, 3, 4), r.randn(2, 3, 4)], [0, 1], tol=1e-5)


# --------------------------------------------------------------------------
# Independent NumPy cross-checks of the trickier semantics (forward only,
# computed in float64). They guard the reference implementations above.
# --------------------------------------------------------------------------


def _np_rope(x, base):
    t, d = x.shape[-2], x.shape[-1]
    inv = base ** (-(2.0 * np.arange(d // 2)) / d)
    emb = np.concatenate([np.outer(np.arange(t), inv)] * 2, axis=-1)
    rot = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], axis=-1)
    return x * np.cos(emb) + rot * np.sin(emb)


def _np_sdpa(q, k, v, causal, scale):
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.triu(np.ones(s.shape[-2:], bool), 1), -np.inf, s)
    s = np.exp(s - s.max(-1, keepdims=True))
    return (s / s.sum(-1, keepdims=True)) @ v


def _np_ce(logits, target, ignore):
    c = logits.shape[-1]
    lg, tg = logits.reshape(-1, c), target.reshape(-1)
    keep = tg != ignore
    lse = np.log(np.exp(lg - lg.max(-1, keepdims=True)).sum(-1)) + lg.max(-1)
    return np.mean(lse[keep] - lg[keep, tg[keep]])


NP_CHECK = {
    "Gather": lambda x, a: (np.take(x[0], x[1], axis=a["axis"]),),
    "Embedding": lambda x, a: (np.take(x[0], x[1], axis=0),),
    "Slice": lambda x, a: (x[0][(slice(None),) * (a["axis"] % x[0].ndim) + (slice(a["start"], a["end"], a["step"]),)],),
    "Split": lambda x, a: tuple(np.split(x[0], np.cumsum(a["sizes"])[:-1], axis=a["axis"])),
    "Rope": lambda x, a: (_np_rope(x[0], a["base"]),),
    "ScaledDotProductAttention": lambda x, a: (_np_sdpa(x[0], x[1], x[2], a["causal"], a["scale"]),),
    "CrossEntropy": lambda x, a: (_np_ce(x[0], x[1], a["ignore_index"]),),
    "RMSNorm": lambda x, a: (x[0] / np.sqrt((x[0] ** 2).mean(-1, keepdims=True) + a["eps"]) * x[1],),
    "LayerNorm": lambda x, a: ((x[0] - x[0].mean(-1, keepdims=True))
                               / np.sqrt(x[0].var(-1, keepdims=True) + a["eps"]) * x[1] + x[2],),
    "MatMul": lambda x, a: (np.matmul(x[0], x[1]),),
    "ReduceMax": lambda x, a: (np.max(x[0], axis=tuple(a["axes"]), keepdims=a["keepdims"]),),
}


def _embedding_grad_check(inputs, gout, gin):
    w, idx = inputs
    ref = np.zeros(w.shape, np.float64)
    np.add.at(ref, idx.reshape(-1), gout.reshape(-1, w.shape[1]))
    assert np.allclose(ref, gin, atol=1e-5), "embedding grad accumulation mismatch"


# --------------------------------------------------------------------------
# Generation.
# --------------------------------------------------------------------------


def run_case(c):
    r = Rng(c["name"])
    raw = c["build"](r)
    inputs = []
    for i, t in enumerate(raw):
        t = t.detach().clone()
        if i in c["grad_inputs"]:
            assert t.dtype == torch.float32, (c["name"], i)
            t.requires_grad_(True)
        inputs.append(t)

    outs = REF[c["op"]](inputs, c["attrs"])
    outs = outs if isinstance(outs, tuple) else (outs,)

    arrays = {f"in{i}": to_np(t) for i, t in enumerate(inputs)}
    for j, o in enumerate(outs):
        arrays[f"out{j}"] = to_np(o)

    if c["grad_inputs"]:
        gouts = [r.randn(*o.shape) for o in outs]
        total = sum((o * g).sum() for o, g in zip(outs, gouts))
        grads = torch.autograd.grad(total, [inputs[i] for i in c["grad_inputs"]])
        for j, g in enumerate(gouts):
            arrays[f"gout{j}"] = to_np(g)
        for i, g in zip(c["grad_inputs"], grads):
            assert g.shape == inputs[i].shape
            arrays[f"gin{i}"] = to_np(g)

    # --- self-checks ---
    check_arrays(c["name"], arrays)
    if c["op"] in NP_CHECK:
        np_in = [arrays[f"in{i}"].astype(np.float64) if arrays[f"in{i}"].dtype == np.float32 else arrays[f"in{i}"]
                 for i in range(len(inputs))]
        refs = NP_CHECK[c["op"]](np_in, c["attrs"])
        assert len(refs) == len(outs), c["name"]
        for j, ref in enumerate(refs):
            got = arrays[f"out{j}"]
            assert got.shape == np.shape(ref), (c["name"], got.shape, np.shape(ref))
            assert np.allclose(got, ref, rtol=1e-4, atol=1e-4), (c["name"], np.abs(got - ref).max())
    if c["op"] == "Embedding":
        _embedding_grad_check([arrays["in0"], arrays["in1"]], arrays["gout0"], arrays["gin0"])
    if c["op"] == "Dropout":
        assert np.array_equal(arrays["out0"], arrays["in0"])
    return arrays


def main():
    setup_torch()
    op_dir = os.path.join(FIXTURE_DIR, "ops")
    os.makedirs(op_dir, exist_ok=True)
    manifest = []
    for c in CASES:
        arrays = run_case(c)
        save_npz(os.path.join(op_dir, c["name"] + ".npz"), arrays)
        manifest.append({
            "name": c["name"],
            "op": c["op"],
            "attrs": c["attrs"],
            "inputs": [f"in{i}" for i in range(sum(1 for k in arrays if k.startswith("in")))],
            "grad_inputs": c["grad_inputs"],
            "tol": c["tol"],
        })
    # Remove stale case files (only inside ops/, which this script owns).
    keep = {c["name"] + ".npz" for c in CASES}
    for f in os.listdir(op_dir):
        if f.endswith(".npz") and f not in keep:
            os.remove(os.path.join(op_dir, f))
    save_json(os.path.join(FIXTURE_DIR, "ops.json"), manifest)
    missing = sorted(set(REF) - {c["op"] for c in CASES})
    assert not missing, f"ops without cases: {missing}"
    print(f"ops: wrote {len(manifest)} cases for {len(REF)} ops")


if __name__ == "__main__":
    main()
