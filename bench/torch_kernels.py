#!/usr/bin/env python3
"""Times the kernels of the m = 1200 paired step in PyTorch on its own (n = 1000, d = 200): the two
GEMMs every implementation needs and the tanh, to compare with narrownet's onnxruntime profile
(bench/profile.mjs). Prints one JSON line per kernel.

  /usr/bin/python3 bench/torch_kernels.py [--threads 1] [--m 1200]
"""
import argparse
import json
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=200)
    p.add_argument("--m", type=int, default=1200)
    p.add_argument("--reps", type=int, default=40)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(a.n, a.d, generator=gen)
    w = torch.randn(a.m, a.d, generator=gen)
    g = torch.randn(a.n, a.m, generator=gen)
    flop = 2 * a.n * a.d * a.m
    kernels = {
        "x @ w.t()  (forward GEMM)": (lambda: x @ w.t(), flop),
        "g.t() @ x  (gradient GEMM)": (lambda: g.t() @ x, flop),
        "tanh([n, m])": (lambda: torch.tanh(g), 0),
    }
    for name, (f, fl) in kernels.items():
        for _ in range(5):
            f()
        t0 = time.perf_counter()
        for _ in range(a.reps):
            f()
        dt = (time.perf_counter() - t0) / a.reps
        rec = {"impl": "pytorch-" + torch.__version__, "kernel": name, "threads": a.threads, "ms": round(dt * 1e3, 3)}
        if fl:
            rec["gflop_per_s"] = round(fl / dt / 1e9, 1)
        print(json.dumps(rec))


if __name__ == "__main__":
    main()
