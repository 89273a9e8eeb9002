#!/usr/bin/env python3
"""PyTorch side of narrownet's grid benchmark (bench/grid.mjs).

Trains the same configurations as bench/grid.mjs one after another in ONE process, each with
exactly the step of /work/shared/bench/torch_reference.py (regime "paired": mirrored LeCun init,
pairwise outer weights, tanh, loss 1/2 sum (y - f)^2, SGD with momentum on W and v, W projected
onto ||W - W0||_F <= eps after every step), and prints one JSON line with the total wall time.

Needs PyTorch (Debian: apt-get install -y python3-torch libopenblas0-pthread), run with
/usr/bin/python3.

  /usr/bin/python3 bench/torch_grid.py --widths 40,400,800,1200 --radii 0.5,1 --lrs 1e-3,5e-4 --steps 500
"""
import argparse
import json
import math
import os
import time

import torch


def synthetic(n, d, gen):
    x = torch.randn(n, d, generator=gen)
    x = x / x.norm(dim=1, keepdim=True)
    y = x.sum(dim=1) ** 2
    return x, y


def lecun(shape, fan_in, gen):
    return torch.randn(*shape, generator=gen) / math.sqrt(fan_in)


def train(x, y, m, eps, lr, momentum, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    d = x.shape[1]
    half = lecun((m // 2, d), d, gen)
    w = torch.cat([half, half], 0).requires_grad_(True)
    v = lecun((m // 2,), m, gen).requires_grad_(True)
    w0 = w.detach().clone()
    opt = torch.optim.SGD([{"params": [w], "lr": lr}, {"params": [v], "lr": lr}], momentum=momentum)
    loss = None
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        h = torch.tanh(x @ w.t())
        f = h[:, : m // 2] @ v - h[:, m // 2 :] @ v
        loss = 0.5 * ((y - f) ** 2).sum()
        loss.backward()
        opt.step()
        with torch.no_grad():
            delta = w - w0
            norm = delta.norm()
            if norm > eps:
                w.copy_(w0 + delta * (eps / norm))
    with torch.no_grad():
        h = torch.tanh(x @ w.t())
        f = h[:, : m // 2] @ v - h[:, m // 2 :] @ v
        return float(0.5 * ((y - f) ** 2).sum())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--widths", default="40,400,800,1200")
    p.add_argument("--radii", default="0.5,1")
    p.add_argument("--lrs", default="1e-3,5e-4")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=200)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--threads", type=int, default=0, help="torch threads; 0 = all cores")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
    x, y = synthetic(a.n, a.d, torch.Generator().manual_seed(a.seed))
    widths = [int(s) for s in a.widths.split(",")]
    radii = [float(s) for s in a.radii.split(",")]
    lrs = [float(s) for s in a.lrs.split(",")]
    t0 = time.perf_counter()
    losses = []
    for m in widths:
        for eps in radii:
            for lr in lrs:
                losses.append(train(x, y, m, eps, lr, a.momentum, a.steps, a.seed + m))
    total = time.perf_counter() - t0
    configs = len(losses)
    print(json.dumps({
        "impl": "pytorch-" + torch.__version__, "bench": "grid", "n": a.n, "d": a.d,
        "widths": widths, "radii": radii, "lrs": lrs, "configs": configs, "steps": a.steps,
        "threads": torch.get_num_threads(), "total_s": round(total, 3),
        "config_steps_per_s": round(configs * a.steps / total, 1), "final_losses": losses,
    }))


if __name__ == "__main__":
    main()
