"""Shared helpers for the golden-fixture generators (PyTorch reference values).

Everything here is about determinism and a stable on-disk format:
  * `setup_torch()` pins float32, deterministic algorithms and a single thread.
  * `Rng` is a per-case seeded generator, so adding/removing a case never changes
    the values of the other cases.
  * `save_npz()` writes a file that `np.load` reads exactly like the output of
    `np.savez` (uncompressed ZIP of .npy members) but with fixed timestamps, so
    regenerating the fixtures is byte-for-byte reproducible (np.savez stamps the
    current time into each member).
"""

import json
import os
import zipfile
import zlib

import numpy as np
import torch

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "golden")

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# Allowed dtypes in the fixtures: float32 for floats, int64 for indices, bool for
# masks, int32 only for the output of Cast{"to": "i32"}.
_ALLOWED_DTYPES = {np.dtype("float32"), np.dtype("int64"), np.dtype("bool"), np.dtype("int32")}


def setup_torch():
    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.manual_seed(0)


def name_seed(name):
    """Stable 31-bit seed derived from a string (independent of PYTHONHASHSEED)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


class Rng:
    """Seeded torch generator producing float32 / int64 / bool tensors."""

    def __init__(self, seed):
        if isinstance(seed, str):
            seed = name_seed(seed)
        self.g = torch.Generator().manual_seed(int(seed))

    def randn(self, *shape):
        return torch.randn(tuple(shape), generator=self.g, dtype=torch.float32)

    def uniform(self, lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(tuple(shape), generator=self.g, dtype=torch.float32)

    def randint(self, lo, hi, *shape):
        """Integers in [lo, hi) as int64."""
        return torch.randint(lo, hi, shape, generator=self.g, dtype=torch.int64)

    def bernoulli(self, p, *shape):
        return torch.rand(tuple(shape), generator=self.g) < p

    def perm(self, n):
        return torch.randperm(n, generator=self.g)


def to_np(t):
    """Torch tensor -> numpy array with fixture dtypes (floats become float32)."""
    a = t.detach().cpu()
    if a.is_floating_point():
        a = a.to(torch.float32)
    a = a.numpy()
    if a.dtype not in _ALLOWED_DTYPES:
        raise TypeError(f"unexpected dtype {a.dtype}")
    return np.array(a, copy=True, order="C")  # (ascontiguousarray would turn 0-d into 1-d)


def check_arrays(label, arrays):
    """Self-check: only allowed dtypes, all float values finite."""
    for k, v in arrays.items():
        if v.dtype not in _ALLOWED_DTYPES:
            raise AssertionError(f"{label}: {k} has dtype {v.dtype}")
        if v.dtype == np.float32 and not np.all(np.isfinite(v)):
            raise AssertionError(f"{label}: {k} contains non-finite values")


def save_npz(path, arrays):
    """Deterministic equivalent of np.savez(path, **arrays) (ZIP_STORED)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, mode="w", compression=zipfile.ZIP_STORED) as zf:
        for key, val in arrays.items():
            val = np.array(val, copy=False, order="C")
            info = zipfile.ZipInfo(key + ".npy", date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w") as fid:
                np.lib.format.write_array(fid, val, allow_pickle=False)
    os.replace(tmp, path)
    # Round-trip check.
    with np.load(path, allow_pickle=False) as z:
        assert list(z.keys()) == list(arrays.keys()), path
        for k, v in arrays.items():
            r = z[k]
            assert r.dtype == v.dtype and r.shape == v.shape, (path, k)
            assert np.array_equal(r, v, equal_nan=v.dtype.kind == "f"), (path, k)


def save_json(path, obj):
    """Pretty JSON; a top-level list is written one element per line."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(obj, list):
        text = "[\n" + ",\n".join(" " + json.dumps(e) for e in obj) + "\n]\n"
    else:
        text = json.dumps(obj, indent=1) + "\n"
    assert json.loads(text) == obj
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
