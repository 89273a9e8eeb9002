#!/usr/bin/env python3
"""PyTorch reference for @narrownet/regime's fused conv-net training step (buildConvStepModel).

A ResNet-18 of stage widths 4-8-8-8 on 3×16×16 inputs (the modules of
packages/models/scripts/make_conv_fixture.py: kuangliu/pytorch-cifar layout) takes two
torch.optim.SGD steps (lr 0.1, momentum 0.9, weight decay 5e-4 on every parameter, as the
paper's CIFAR runs) in train mode, on two mini-batches of 4 of 8 samples, in float64, against
softmax cross-entropy with one-hot targets. Written: the initial parameters and running
statistics, the data and batch indices, the loss of each step (at the step's input iterate) and
the parameters and running statistics after both steps.

Arrays are base64 of little-endian float64. Output: packages/regime/test/fixtures/conv_step_torch.json

Run: /usr/bin/python3 packages/regime/scripts/make_conv_step_fixture.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'models', 'scripts'))
from make_conv_fixture import Net, b64, buffers_of, randomize, resnet18  # noqa: E402

OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'conv_step_torch.json')


def main():
    torch.manual_seed(11)
    spec = resnet18('basic', [4, 8, 8, 8], [3, 16, 16], 5)
    net = Net(spec).double()
    randomize(net)
    n = 8
    X = torch.randn(n, *spec['input'], dtype=torch.float64)
    labels = torch.randint(0, spec['classes'], (n,))
    Y = F.one_hot(labels, spec['classes']).double()
    batches = [[0, 3, 5, 6], [7, 1, 2, 4]]
    params0 = {k: b64(p) for k, p in net.named_parameters()}
    buffers0 = {k: b64(v) for k, v in buffers_of(net).items()}
    lr, momentum, wd = 0.1, 0.9, 5e-4
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    net.train()
    losses = []
    for idx in batches:
        opt.zero_grad()
        loss = F.cross_entropy(net(X[idx]), labels[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out = {
        'meta': {'torch': torch.__version__, 'script': 'packages/regime/scripts/make_conv_step_fixture.py',
                 'encoding': 'arrays are base64 of little-endian float64'},
        'spec': spec, 'n': n, 'X': b64(X), 'Y': b64(Y), 'batches': batches,
        'lr': lr, 'momentum': momentum, 'weightDecay': wd,
        'params0': params0, 'buffers0': buffers0, 'losses': losses,
        'params': {k: b64(p) for k, p in net.named_parameters()},
        'buffers': {k: b64(v) for k, v in buffers_of(net).items()},
    }
    with open(OUT, 'w') as f:
        json.dump(out, f)
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
