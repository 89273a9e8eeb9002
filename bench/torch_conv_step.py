#!/usr/bin/env python3
"""PyTorch side of bench/conv-step.mjs: one training step of a CIFAR ResNet-18 (kuangliu layout,
the modules of packages/models/scripts/make_conv_fixture.py) with its final stage narrowed to
--final channels, on --batch random 3×--size×--size inputs: train-mode forward (batch norm with
batch statistics), cross-entropy, backward, torch.optim.SGD(lr 0.1, momentum 0.9, weight decay 5e-4).
float32, CPU, --threads torch threads. Prints one JSON line: median and all step times in ms.

Run: /usr/bin/python3 bench/torch_conv_step.py --final 64 --batch 128 --size 32 --steps 3 --warmup 1 --threads 1
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'packages', 'models', 'scripts'))
from make_conv_fixture import Net, resnet18  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--final', type=int, default=64)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--classes', type=int, default=10)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Net(resnet18('basic', [64, 128, 256, a.final], [3, a.size, a.size], a.classes))
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    X = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(X), y)
        loss.backward()
        opt.step()
        dt = (time.perf_counter() - t0) * 1000
        if i >= a.warmup:
            times.append(dt)
    print(json.dumps({'final': a.final, 'batch': a.batch, 'threads': a.threads, 'loss': loss.item(),
                      'ms': statistics.median(times), 'all_ms': times}))


if __name__ == '__main__':
    main()
