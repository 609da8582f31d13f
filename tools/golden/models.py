"""Model-level golden fixtures.

  gpt_block.npz / .json   GPT-2 style pre-LN transformer block: forward + all grads.
  mlp_adamw.npz / .json   30 training steps of a small MLP with AdamW,
  mlp_sgd.npz   / .json   ... with SGD (momentum 0.9, nesterov, weight decay 1e-4),
  mlp_adam.npz  / .json   ... with Adam.
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FIXTURE_DIR, check_arrays, save_json, save_npz, setup_torch, to_np  # noqa: E402

# --------------------------------------------------------------------------
# GPT-2 block
# --------------------------------------------------------------------------

GPT_CFG = {"C": 32, "heads": 4, "T": 8, "B": 2, "eps": 1e-5}
GPT_SEED = 1234


class CausalSelfAttention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)

    def forward(self, x):
        b, t, c = x.shape
        h, d = self.heads, c // self.heads
        q, k, v = self.c_attn(x).split(c, dim=2)  # q, k, v in that order along the last dim
        q = q.reshape(b, t, h, d).transpose(1, 2)  # [B, H, T, D]
        k = k.reshape(b, t, h, d).transpose(1, 2)
        v = v.reshape(b, t, h, d).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = torch.matmul(att, v)  # [B, H, T, D]
        y = y.transpose(1, 2).reshape(b, t, c)
        return self.c_proj(y)


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c, 4 * c)
        self.c_proj = nn.Linear(4 * c, c)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c, heads, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c, eps=eps)
        self.attn = CausalSelfAttention(c, heads)
        self.ln_2 = nn.LayerNorm(c, eps=eps)
        self.mlp = Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


GPT_PARAM_NAMES = [
    "ln_1.weight", "ln_1.bias",
    "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
    "ln_2.weight", "ln_2.bias",
    "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
]


def make_gpt_block():
    cfg = GPT_CFG
    g = torch.Generator().manual_seed(GPT_SEED)
    block = Block(cfg["C"], cfg["heads"], cfg["eps"])
    params = dict(block.named_parameters())
    assert list(params) == GPT_PARAM_NAMES, list(params)
    with torch.no_grad():
        for name, p in params.items():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name in ("ln_1.weight", "ln_2.weight"):
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(0.2 * noise)
    x = torch.randn((cfg["B"], cfg["T"], cfg["C"]), generator=g, dtype=torch.float32).requires_grad_(True)
    out = block(x)
    gout = torch.randn(out.shape, generator=g, dtype=torch.float32)
    grads = torch.autograd.grad((out * gout).sum(), [x] + list(params.values()))

    arrays = {"x": to_np(x), "out": to_np(out), "gout": to_np(gout), "grad.x": to_np(grads[0])}
    for name, p in params.items():
        arrays["param." + name] = to_np(p)
    for name, gr in zip(params, grads[1:]):
        arrays["grad." + name] = to_np(gr)
    check_arrays("gpt_block", arrays)
    _check_gpt_block_by_hand(arrays)

    save_npz(os.path.join(FIXTURE_DIR, "gpt_block.npz"), arrays)
    save_json(os.path.join(FIXTURE_DIR, "gpt_block.json"), {
        "config": dict(cfg),
        "param_names": GPT_PARAM_NAMES,
        "param_shapes": {n: list(p.shape) for n, p in params.items()},
        "notes": {
            "layout": "nn.Linear weights are [out, in]; y = x @ W^T + b",
            "block": "x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))",
            "attn": "c_attn output split into q,k,v along last dim; heads: reshape [B,T,H,D] -> transpose [B,H,T,D];"
                    " softmax(q@k^T / sqrt(D) + causal -inf mask above diagonal) @ v; back to [B,T,C]; c_proj",
            "mlp": "c_proj(gelu_tanh(c_fc(x)))",
            "grads": "grad.* = d sum(out * gout) / d param (grad.x for the input)",
        },
        "tol": 1e-4,
    })
    return arrays


def _check_gpt_block_by_hand(a):
    """Independent float64 NumPy forward of the block (guards names/layouts)."""
    cfg = GPT_CFG
    p = {k[len("param."):]: a[k].astype(np.float64) for k in a if k.startswith("param.")}
    x = a["x"].astype(np.float64)
    b, t, c, h = cfg["B"], cfg["T"], cfg["C"], cfg["heads"]
    d = c // h

    def ln(z, w, bias):
        mu = z.mean(-1, keepdims=True)
        return (z - mu) / np.sqrt(z.var(-1, keepdims=True) + cfg["eps"]) * w + bias

    def lin(z, name):
        return z @ p[name + ".weight"].T + p[name + ".bias"]

    def heads(z):
        return z.reshape(b, t, h, d).transpose(0, 2, 1, 3)

    qkv = lin(ln(x, p["ln_1.weight"], p["ln_1.bias"]), "attn.c_attn")
    q, k, v = heads(qkv[..., :c]), heads(qkv[..., c:2 * c]), heads(qkv[..., 2 * c:])
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    s = np.where(np.triu(np.ones((t, t), bool), 1), -np.inf, s)
    s = np.exp(s - s.max(-1, keepdims=True))
    y = (s / s.sum(-1, keepdims=True)) @ v
    x = x + lin(y.transpose(0, 2, 1, 3).reshape(b, t, c), "attn.c_proj")
    hid = lin(ln(x, p["ln_2.weight"], p["ln_2.bias"]), "mlp.c_fc")
    hid = 0.5 * hid * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (hid + 0.044715 * hid ** 3)))
    x = x + lin(hid, "mlp.c_proj")
    err = np.abs(x - a["out"]).max()
    assert err < 1e-4, f"gpt_block numpy cross-check failed: {err}"


# --------------------------------------------------------------------------
# MLP training runs
# --------------------------------------------------------------------------

MLP_SEED = 4321
MLP_STEPS = 30
MLP_BATCH = 16
MLP_PARAM_NAMES = ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]


class MlpNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))

    def forward(self, x):
        return self.layers(x)


OPTIMIZERS = {
    "mlp_adamw": ("AdamW", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False)),
    "mlp_sgd": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=1e-4)),
    "mlp_adam": ("Adam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)),
}

OPTIMIZER_NOTES = {
    "AdamW": "torch.optim.AdamW (1.13, single-tensor path): p *= 1 - lr*wd; m = b1*m + (1-b1)*g;"
             " v = b2*v + (1-b2)*g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)",
    "Adam": "torch.optim.Adam (1.13, single-tensor path): m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;"
            " p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)",
    "SGD": "torch.optim.SGD (1.13): d = g + wd*p; buf = d at step 1 else momentum*buf + (1-dampening)*d;"
           " nesterov: d = d + momentum*buf; p -= lr*d",
}


def make_mlp_run(fname, opt_name, opt_kwargs):
    # Same init and data for all optimizers.
    torch.manual_seed(MLP_SEED)
    model = MlpNet()
    params = dict(model.named_parameters())
    assert list(params) == MLP_PARAM_NAMES, list(params)
    g = torch.Generator().manual_seed(MLP_SEED + 1)
    X = torch.randn((64, 16), generator=g, dtype=torch.float32)
    Y = torch.randn((64, 16), generator=g, dtype=torch.float32)

    arrays = {"X": to_np(X), "Y": to_np(Y)}
    for n, p in params.items():
        arrays["init." + n] = to_np(p)

    opt_cls = getattr(torch.optim, opt_name)
    extra = {} if opt_name == "SGD" else {"foreach": False}
    opt = opt_cls(model.parameters(), **opt_kwargs, **extra)
    losses = []
    for i in range(MLP_STEPS):
        start = (i * MLP_BATCH) % X.shape[0]
        xb, yb = X[start:start + MLP_BATCH], Y[start:start + MLP_BATCH]
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    for n, p in params.items():
        arrays["final." + n] = to_np(p)
    arrays["losses"] = np.asarray(losses, dtype=np.float32)

    check_arrays(fname, arrays)
    moved = max(np.abs(arrays["final." + n] - arrays["init." + n]).max() for n in params)
    assert moved > 0, f"{fname}: parameters did not change"

    save_npz(os.path.join(FIXTURE_DIR, fname + ".npz"), arrays)
    kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in opt_kwargs.items()}
    save_json(os.path.join(FIXTURE_DIR, fname + ".json"), {
        "model": "nn.Sequential(nn.Linear(16,32), nn.GELU(approximate='none'), nn.Linear(32,16))",
        "param_names": MLP_PARAM_NAMES,
        "param_shapes": {n: list(p.shape) for n, p in params.items()},
        "optimizer": {"type": opt_name, **kw},
        "optimizer_notes": OPTIMIZER_NOTES[opt_name],
        "loss": "mse, mean reduction",
        "steps": MLP_STEPS,
        "batch_size": MLP_BATCH,
        "batching": "step i uses rows [(i*16) % 64, (i*16) % 64 + 16) of X and Y, no shuffle",
        "losses": "loss of each step's batch, computed before that step's update",
        # Keep this tight: with lr=1e-3 the whole AdamW weight-decay effect on `final.*`
        # is only ~8e-5, so a 1e-4 tolerance could not tell AdamW from Adam.
        "tol": 1e-5,
    })
    return arrays


def main():
    setup_torch()
    make_gpt_block()
    print("models: wrote gpt_block")
    for fname, (opt_name, kw) in OPTIMIZERS.items():
        a = make_mlp_run(fname, opt_name, kw)
        print(f"models: wrote {fname} (loss {a['losses'][0]:.4f} -> {a['losses'][-1]:.4f})")


if __name__ == "__main__":
    main()
