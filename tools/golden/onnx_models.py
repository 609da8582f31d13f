"""ONNX fixtures exported from PyTorch for the ONNX importer and the `wafer run/train/export` verbs.

    /usr/bin/python3 tools/golden/onnx_models.py                    # tests/fixtures/onnx/*
    /usr/bin/python3 tools/golden/onnx_models.py --bench DIR        # DIR/gpt_bench.onnx + DIR/gpt_bench_x.npy (benchmark)

Three models, each exported with torch.onnx.export (no constant folding, so parameter names survive and the
importer has to fold the shape subgraphs itself) and dynamic batch/sequence axes:
  mlp_gelu   Linear -> GELU (erf) -> Linear                                       opset 13
  gpt_block  token + position embedding, pre-LN causal self-attention (masked_fill
             with a bool tril buffer), LayerNorm, tanh-GELU MLP, LM head          opset 17 (LayerNormalization)
  llama_block RMSNorm, RoPE (tables computed in forward: Range/Pow/Cos/Sin), causal
             attention (triu -inf mask: Trilu), SwiGLU MLP, LM head               opset 14

For each: <name>.onnx, <name>_io.npz (inputs "x" and the PyTorch output "y"), and <name>_train.npz: the data
("x", "y"), the 30 per-step AdamW losses ("losses", loss of the batch before the update), a probe input
("probe") and the trained model's output on it ("probe_out"). Batches follow `wafer train --no-shuffle`:
batch i holds rows (i*B) mod N ... +B (wrapping). Hyper-parameters are in <name>_train.json.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import REPO_ROOT, Rng, save_json, save_npz, setup_torch, to_np  # noqa: E402

OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "onnx")
STEPS = 30


class MlpGelu(nn.Module):
    def __init__(self, i=16, h=32, o=8):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(h, o)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class GptBlock(nn.Module):
    def __init__(self, vocab=64, d=32, heads=4, max_t=16):
        super().__init__()
        self.d, self.h = d, heads
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(max_t, d)
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.lnf = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.register_buffer("mask", torch.tril(torch.ones(max_t, max_t, dtype=torch.bool)), persistent=False)

    def forward(self, idx):
        b, t = idx.shape
        d, h = self.d, self.h
        pos = torch.arange(t, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q = q.view(b, t, h, d // h).transpose(1, 2)
        k = k.view(b, t, h, d // h).transpose(1, 2)
        v = v.view(b, t, h, d // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
        att = att.masked_fill(~self.mask[:t, :t], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        x = x + self.fc2(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return self.head(self.lnf(x))


class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, vocab=64, d=32, heads=4, ffn=64, theta=10000.0):
        super().__init__()
        self.d, self.h, self.theta = d, heads, theta
        self.embed = nn.Embedding(vocab, d)
        self.norm1 = RmsNorm(d)
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.norm2 = RmsNorm(d)
        self.gate = nn.Linear(d, ffn, bias=False)
        self.up = nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)
        self.normf = RmsNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        b, t = idx.shape
        d, h = self.d, self.h
        hd = d // h
        x = self.embed(idx)
        z = self.norm1(x)
        q = self.wq(z).view(b, t, h, hd).transpose(1, 2)
        k = self.wk(z).view(b, t, h, hd).transpose(1, 2)
        v = self.wv(z).view(b, t, h, hd).transpose(1, 2)
        inv = 1.0 / (self.theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.arange(t, dtype=torch.float32).unsqueeze(1) * inv.unsqueeze(0)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        att = F.softmax((q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.wo(y)
        z = self.norm2(x)
        x = x + self.down(F.silu(self.gate(z)) * self.up(z))
        return self.head(self.normf(x))


def export(model, example, path, opset, seq_axis):
    axes = {"x": {0: "batch"}, "y": {0: "batch"}}
    if seq_axis:
        axes = {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}}
    model.eval()
    torch.onnx.export(model, (example,), path, input_names=["x"], output_names=["y"], dynamic_axes=axes,
                      opset_version=opset, do_constant_folding=False)


def train(model, x, y, loss_name, batch, lr, wd):
    """30 AdamW steps; returns per-step losses (batch loss before the update)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    n = x.shape[0]
    losses = []
    model.train()
    for i in range(STEPS):
        rows = [(i * batch + j) % n for j in range(batch)]
        xb, yb = x[rows], y[rows]
        out = model(xb)
        if loss_name == "mse":
            loss = F.mse_loss(out, yb)
        else:
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return np.array(losses, dtype=np.float32)


def distinct_norms(model, seed):
    """Give every norm weight/bias its own values: torch.onnx.export deduplicates initializers with equal data
    (all-ones LayerNorm weights would become one shared initializer, i.e. tied weights when training)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 1 and ("ln" in n or "norm" in n):
                p.add_(0.1 * torch.randn(p.shape, generator=g))


def make(name, model, opset, io_x, data_x, data_y, probe, loss_name, batch, lr=1e-3, wd=0.01, seq_axis=False):
    os.makedirs(OUT_DIR, exist_ok=True)
    distinct_norms(model, 7)
    path = os.path.join(OUT_DIR, name + ".onnx")
    export(model, io_x, path, opset, seq_axis)
    with torch.no_grad():
        y = model(io_x)
    save_npz(os.path.join(OUT_DIR, name + "_io.npz"), {"x": to_np(io_x), "y": to_np(y)})
    losses = train(model, data_x, data_y, loss_name, batch, lr, wd)
    with torch.no_grad():
        probe_out = model(probe)
    save_npz(os.path.join(OUT_DIR, name + "_train.npz"), {
        "x": to_np(data_x), "y": to_np(data_y), "losses": losses, "probe": to_np(probe), "probe_out": to_np(probe_out)})
    save_json(os.path.join(OUT_DIR, name + "_train.json"), {
        "loss": loss_name, "optimizer": "adamw", "lr": lr, "weight_decay": wd, "betas": [0.9, 0.999], "eps": 1e-8,
        "batch_size": batch, "steps": STEPS, "shuffle": False, "opset": opset})
    print(f"{name}: {os.path.getsize(path)} bytes onnx, first/last loss {losses[0]:.5f}/{losses[-1]:.5f}")


def main_fixtures():
    setup_torch()
    r = Rng("onnx_mlp_gelu")
    torch.manual_seed(1)
    make("mlp_gelu", MlpGelu(), 13, r.randn(4, 16), r.randn(48, 16), r.randn(48, 8), r.randn(5, 16), "mse", 16, lr=1e-2)

    r = Rng("onnx_gpt_block")
    torch.manual_seed(2)
    make("gpt_block", GptBlock(), 17, r.randint(0, 64, 2, 12), r.randint(0, 64, 24, 16), r.randint(0, 64, 24, 16),
         r.randint(0, 64, 3, 16), "cross-entropy", 8, seq_axis=True)

    r = Rng("onnx_llama_block")
    torch.manual_seed(3)
    make("llama_block", LlamaBlock(), 14, r.randint(0, 64, 2, 16), r.randint(0, 64, 24, 16), r.randint(0, 64, 24, 16),
         r.randint(0, 64, 3, 16), "cross-entropy", 8, seq_axis=True)


def main_bench(out_dir):
    """GPT-style benchmark model: batch 8, seq 128, d 256 (8 heads, vocab 512)."""
    setup_torch()
    torch.manual_seed(4)
    os.makedirs(out_dir, exist_ok=True)
    model = GptBlock(vocab=512, d=256, heads=8, max_t=128)
    distinct_norms(model, 7)
    x = Rng("onnx_gpt_bench").randint(0, 512, 8, 128)
    export(model, x, os.path.join(out_dir, "gpt_bench.onnx"), 17, seq_axis=True)
    np.save(os.path.join(out_dir, "gpt_bench_x.npy"), to_np(x))
    print(f"wrote {out_dir}/gpt_bench.onnx")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", metavar="DIR", help="write the benchmark model to DIR instead of the fixtures")
    args = ap.parse_args()
    if args.bench:
        main_bench(args.bench)
    else:
        main_fixtures()


if __name__ == "__main__":
    main()
