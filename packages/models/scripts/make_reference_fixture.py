#!/usr/bin/env python3
"""Independent float64 reference for @narrownet/models' forward64 / lossAndGrad64 tests.

For one net of each family (shallow, paired, mlp with bias and 1/sqrt(m) scaling) and each
loss (halfSse, mse, softmaxCrossEntropy), PyTorch computes in float64 the outputs, the loss and
its gradient by autograd. Parameters are drawn with torch.manual_seed and written out, so the
test feeds the same numbers to narrownet. Output: packages/models/test/fixtures/reference_torch.json

Run: /usr/bin/python3 packages/models/scripts/make_reference_fixture.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures',
                   'reference_torch.json')


def act(spec):
    name = spec if isinstance(spec, str) else spec['name']
    if name == 'tanh':
        return torch.tanh
    if name == 'gelu':
        return lambda x: F.gelu(x)  # exact x * Phi(x)
    if name == 'softplus':
        alpha = spec.get('alpha', 1.0) if isinstance(spec, dict) else 1.0
        return lambda x: F.softplus(x, beta=alpha, threshold=1e9)
    if name == 'leakyRelu':
        return lambda x: F.leaky_relu(x, spec.get('slope', 0.01))
    if name == 'sigmoid':
        return torch.sigmoid
    raise ValueError(name)


def forward(spec, p, X):
    s = act(spec['activation'])
    if spec['kind'] == 'shallow':
        return (s(X @ p['W'].T) @ p['v']).reshape(-1, 1)
    if spec['kind'] == 'paired':
        h = s(X @ p['W'].T)
        m2 = spec['width'] // 2
        return ((h[:, :m2] - h[:, m2:]) @ p['v']).reshape(-1, 1)
    layers = spec['layers']
    cur = X
    L = len(layers) - 1
    for l in range(1, L + 1):
        z = cur @ p[f'W{l}'].T
        if spec.get('bias'):
            z = z + p[f'b{l}']
        if l == L:
            return z
        cur = s(z) * (1 / math.sqrt(layers[l]) if spec.get('scaled') else 1.0)


def loss(name, P, Y):
    if name == 'halfSse':
        return 0.5 * ((P - Y) ** 2).sum()
    if name == 'mse':
        return F.mse_loss(P, Y)
    return -(Y * F.log_softmax(P, dim=1)).sum(dim=1).mean()


def shapes(spec):
    if spec['kind'] == 'shallow':
        return {'W': [spec['width'], spec['inputDim']], 'v': [spec['width']]}
    if spec['kind'] == 'paired':
        return {'W': [spec['width'], spec['inputDim']], 'v': [spec['width'] // 2]}
    out, layers = {}, spec['layers']
    for l in range(1, len(layers)):
        out[f'W{l}'] = [layers[l], layers[l - 1]]
        if spec.get('bias'):
            out[f'b{l}'] = [layers[l]]
    return out


def main():
    torch.manual_seed(2019)
    specs = [
        {'kind': 'shallow', 'inputDim': 3, 'width': 5, 'activation': 'gelu'},
        {'kind': 'paired', 'inputDim': 4, 'width': 6, 'activation': 'tanh'},
        {'kind': 'mlp', 'layers': [3, 5, 4, 3], 'activation': {'name': 'softplus', 'alpha': 2},
         'bias': True, 'scaled': True},
        {'kind': 'mlp', 'layers': [2, 4, 2], 'activation': {'name': 'leakyRelu', 'slope': 0.1}},
    ]
    n = 6
    cases = []
    for spec in specs:
        d = spec['inputDim'] if spec['kind'] != 'mlp' else spec['layers'][0]
        k = 1 if spec['kind'] != 'mlp' else spec['layers'][-1]
        params = {name: torch.randn(*sh, dtype=torch.float64) for name, sh in shapes(spec).items()}
        X = torch.randn(n, d, dtype=torch.float64)
        for lname in ['halfSse', 'mse', 'softmaxCrossEntropy']:
            if lname == 'softmaxCrossEntropy':
                Y = torch.softmax(torch.randn(n, k, dtype=torch.float64) * 2, dim=1)
            else:
                Y = torch.randn(n, k, dtype=torch.float64)
            p = {name: t.clone().requires_grad_(True) for name, t in params.items()}
            P = forward(spec, p, X)
            value = loss(lname, P, Y)
            grads = torch.autograd.grad(value, list(p.values()))
            cases.append({
                'spec': spec, 'loss': lname, 'n': n,
                'params': {name: t.reshape(-1).tolist() for name, t in params.items()},
                'X': X.reshape(-1).tolist(), 'Y': Y.reshape(-1).tolist(),
                'pred': P.detach().reshape(-1).tolist(), 'value': value.item(),
                'grads': {name: g.reshape(-1).tolist() for name, g in zip(p.keys(), grads)},
            })
    with open(OUT, 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
        f.write('\n')


if __name__ == '__main__':
    main()
