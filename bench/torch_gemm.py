#!/usr/bin/env python3
"""Peer benchmark for WaferSharp's float32 GEMM: torch.matmul on square float32 matrices.

torch.set_num_threads(t) is applied and, because Debian's torch routes float32 matmul to the
system OpenBLAS (pthread build) whose pool ignores it, openblas_set_num_threads(t) as well.

Usage: python3 bench/torch_gemm.py [--sizes 1024,2048,4096] [--threads 1,2] [--runs N] [--wait-idle]
Prints one JSON object on stdout:
  {"torch": "<version>", "results": [{"n":..,"threads":..,"best_s":..,"median_s":..,
                                       "gflops_best":..,"gflops_median":..}, ...]}
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import torch


def find_openblas():
    """Debian's torch calls sgemm in the system OpenBLAS (pthread build), whose thread pool ignores
    torch.set_num_threads. Return a ctypes handle so the same thread count can be applied to it."""
    torch.matmul(torch.ones(64, 64), torch.ones(64, 64))  # make sure the BLAS is loaded
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({l.split()[-1] for l in f if "libopenblas" in l})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return lib
        except (OSError, AttributeError):
            continue
    return None


def _cpu_busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def wait_idle(max_wait_s=30.0, busy_limit=0.10):
    """On a shared machine: wait (up to max_wait_s) for a 0.3 s window with < busy_limit CPU use."""
    t_end = time.monotonic() + max_wait_s
    while time.monotonic() < t_end:
        b0, t0 = _cpu_busy_ticks()
        time.sleep(0.3)
        b1, t1 = _cpu_busy_ticks()
        if (b1 - b0) / max(1, t1 - t0) < busy_limit:
            return


def runs_for(n, requested):
    if requested > 0:
        return requested
    return 10 if n <= 1024 else (5 if n <= 2048 else 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,2048,4096")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--wait-idle", action="store_true",
                    help="before each timed run wait for the machine to be idle (shared hosts)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    threads = [int(s) for s in args.threads.split(",") if s]

    torch.manual_seed(0)
    openblas = find_openblas()
    results = []
    for t in threads:
        torch.set_num_threads(t)
        if openblas is not None:
            openblas.openblas_set_num_threads(t)
        for n in sizes:
            a = torch.rand(n, n, dtype=torch.float32)
            b = torch.rand(n, n, dtype=torch.float32)
            c = torch.empty(n, n, dtype=torch.float32)
            # warm-up (also lets OpenBLAS spin up its thread pool)
            for _ in range(2):
                torch.matmul(a, b, out=c)
            times = []
            for _ in range(runs_for(n, args.runs)):
                if args.wait_idle:
                    wait_idle()
                    torch.matmul(a, b, out=c)  # re-warm caches / threads after the idle wait
                t0 = time.perf_counter()
                torch.matmul(a, b, out=c)
                times.append(time.perf_counter() - t0)
            best = min(times)
            med = statistics.median(times)
            flop = 2.0 * n * n * n
            results.append({
                "n": n, "threads": t, "runs": len(times),
                "torch_threads": torch.get_num_threads(),
                "openblas_threads": openblas.openblas_get_num_threads() if openblas is not None else None,
                "best_s": best, "median_s": med,
                "gflops_best": flop / best / 1e9, "gflops_median": flop / med / 1e9,
            })
            print(f"torch n={n} threads={t} best={best*1e3:.2f} ms "
                  f"{flop/best/1e9:.1f} GFLOP/s", file=sys.stderr)
    out = {
        "torch": torch.__version__,
        "blas": openblas.openblas_get_config().decode() if openblas is not None else "unknown",
        "blas_core": openblas.openblas_get_corename().decode() if openblas is not None else None,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
        "results": results,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
