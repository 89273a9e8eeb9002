#!/usr/bin/env python3
"""PyTorch side of narrownet's MNIST epoch benchmark (bench/mnist_epoch.mjs).

One epoch of Zhang et al.'s Alg. 2 on the 784-784-256-10 ReLU net of App. H.2 (Fig. 7): the last
two layers paired (mirrored LeCun init, the output layer cut off to half: f = V (relu(z_top) -
relu(z_bot)), V of shape [10, 128]), softmax cross-entropy (F.cross_entropy), mini-batches of 64
in a fresh random order (floor(n/64) steps), torch.optim.SGD (lr 0.01, momentum 0.9, weight decay
5e-4) on every layer, and after every step the last hidden layer projected onto
||W2 - W2_0||_F <= eps. With --fullLoss 1 the epoch ends with the training loss on all n samples
(no_grad), the work narrownet's trainer.run() does to return it.

Data: --data <prefix> reads <prefix>.X.f32 ([n, 784] float32) and <prefix>.labels.i32 ([n] int32),
written by bench/mnist_epoch.mjs (the offline MNIST digits); without it, n = 10,000 N(0, 1) inputs.
Prints one JSON line: the epoch wall time, the steps, ms per step, threads.

Needs PyTorch (Debian: apt-get install -y python3-torch libopenblas0-pthread); run with /usr/bin/python3.

  /usr/bin/python3 bench/torch_mnist_epoch.py --threads 1
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="")
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--m2", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--eps", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=1, help="epochs timed (after --warmup steps)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--fullLoss", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    if a.data:
        import numpy as np

        X = torch.from_numpy(np.fromfile(a.data + ".X.f32", dtype=np.float32).reshape(-1, 784).copy())
        labels = torch.from_numpy(np.fromfile(a.data + ".labels.i32", dtype=np.int32).astype(np.int64))
    else:
        X = torch.randn(a.n, 784, generator=gen)
        labels = torch.randint(0, 10, (a.n,), generator=gen)
    n = X.shape[0]
    m1, m2, k = 784, a.m2, 10

    def lecun(shape, fan_in):
        return torch.randn(*shape, generator=gen) / math.sqrt(fan_in)

    W1 = lecun((m1, 784), 784).requires_grad_(True)
    half = lecun((m2 // 2, m1), m1)
    W2 = torch.cat([half, half], 0).requires_grad_(True)
    V = lecun((k, m2 // 2), m2).requires_grad_(True)
    W20 = W2.detach().clone()
    opt = torch.optim.SGD([W1, W2, V], lr=a.lr, momentum=0.9, weight_decay=5e-4)

    def forward(x):
        h1 = torch.relu(x @ W1.t())
        h2 = torch.relu(h1 @ W2.t())
        return (h2[:, : m2 // 2] - h2[:, m2 // 2 :]) @ V.t()

    def step(rows):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(X[rows]), labels[rows])
        loss.backward()
        opt.step()
        with torch.no_grad():
            delta = W2 - W20
            norm = delta.norm()
            if norm > a.eps:
                W2.copy_(W20 + delta * (a.eps / norm))
        return loss

    per_epoch = n // a.batch
    perm = torch.randperm(n, generator=gen)
    for s in range(a.warmup):
        step(perm[s * a.batch : (s + 1) * a.batch])
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(n, generator=gen)
        for s in range(per_epoch):
            step(perm[s * a.batch : (s + 1) * a.batch])
    t1 = time.perf_counter()
    full = None
    if a.fullLoss:
        with torch.no_grad():
            full = float(F.cross_entropy(forward(X), labels))
    t2 = time.perf_counter()
    steps = per_epoch * a.epochs
    print(json.dumps({
        "impl": "pytorch-" + torch.__version__,
        "n": n, "m2": m2, "batch": a.batch, "steps": steps, "threads": torch.get_num_threads(),
        "epoch_ms": round((t2 - t0) * 1e3 / a.epochs, 1),
        "epoch_ms_without_full_loss": round((t1 - t0) * 1e3 / a.epochs, 1),
        "full_loss_ms": round((t2 - t1) * 1e3, 1),
        "ms_per_step": round((t1 - t0) * 1e3 / steps, 3),
        "full_loss": full,
    }))


if __name__ == "__main__":
    main()
