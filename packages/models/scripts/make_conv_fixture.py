#!/usr/bin/env python3
"""Independent float64 PyTorch reference for @narrownet/models' conv nets (ResNetSpec).

The nets are written here as ordinary torch.nn modules in the CIFAR layout of
kuangliu/pytorch-cifar (BasicBlock / ResNet, PreActBlock / PreActResNet), built from the same
JSON spec narrownet reads, with global average pooling before the linear head. For each case
PyTorch computes in float64, with autograd, in train mode (batch statistics; running statistics
updated with momentum) and in eval mode (running statistics): the logits, the softmax
cross-entropy loss against one-hot targets (mean over the batch, nn.CrossEntropyLoss) and the
gradient of every parameter. One case has Zhang et al.'s paired output layer (head 'paired':
logits = linear(h1) - linear(h2), halves of the pooled features, no bias). Parameters, running statistics and inputs are drawn with
torch.manual_seed and written out so the test feeds narrownet the same numbers.

Arrays are stored as base64 of little-endian float64 (exact and compact); scalars as JSON numbers.
Output: packages/models/test/fixtures/conv_torch.json, and conv_pool_torch.json for the stems with
max pooling (torchvision's ImageNet stem: 7x7 stride-2 conv, bn, relu, 3x3 stride-2 max pool with
padding 1; and a case built so that max-pool windows hold tied maxima coming from DIFFERENT input
patches, so that which tied input gets the gradient changes conv1's weight gradient: PyTorch gives
it to the first maximum in row-major window order, and the case records how far the gradient
would move if the last one got it instead).

Run: /usr/bin/python3 packages/models/scripts/make_conv_fixture.py
"""
import base64
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures',
                   'conv_torch.json')
OUT_POOL = os.path.join(os.path.dirname(OUT), 'conv_pool_torch.json')


def bn(c, spec):
    return nn.BatchNorm2d(c, eps=spec.get('bnEps', 1e-5), momentum=spec.get('bnMomentum', 0.1))


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride, spec):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = bn(planes, spec)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = bn(planes, spec)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), bn(planes, spec))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class PreActBlock(nn.Module):
    def __init__(self, cin, planes, stride, spec):
        super().__init__()
        self.bn1 = bn(cin, spec)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn2 = bn(planes, spec)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, 'shortcut') else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class Net(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        cin = spec['input'][0]
        stem = spec['stem']
        if stem is not None:
            self.conv1 = nn.Conv2d(cin, stem['channels'], stem['kernel'], stem['stride'], stem['padding'],
                                   bias=False)
            cin = stem['channels']
            pool = stem.get('pool')
            if spec['block'] == 'basic' or pool:
                self.bn1 = bn(cin, spec)
            if pool:  # torchvision's stem: conv, bn, relu, MaxPool2d
                self.maxpool = nn.MaxPool2d(pool['kernel'], pool['stride'], pool['padding'])
        Block = BasicBlock if spec['block'] == 'basic' else PreActBlock
        for s, stage in enumerate(spec['stages']):
            blocks = []
            for b in range(stage['blocks']):
                blocks.append(Block(cin, stage['width'], stage['stride'] if b == 0 else 1, spec))
                cin = stage['width']
            setattr(self, f'layer{s + 1}', nn.Sequential(*blocks))
        if spec['block'] == 'preact':
            self.bn = bn(cin, spec)
        # Zhang et al.'s paired output layer (App. H.1 fc2): half the features, no bias, h1 - h2.
        self.paired = spec.get('head', 'linear') == 'paired'
        self.linear = nn.Linear(cin // 2, spec['classes'], bias=False) if self.paired else nn.Linear(cin, spec['classes'])

    def forward(self, x):
        out = x
        if self.spec['stem'] is not None:
            out = self.conv1(out)
            if hasattr(self, 'bn1'):
                out = F.relu(self.bn1(out))
            if hasattr(self, 'maxpool'):
                out = self.pool_out = self.maxpool(out)
        for s in range(len(self.spec['stages'])):
            out = getattr(self, f'layer{s + 1}')(out)
        if self.spec['block'] == 'preact':
            out = F.relu(self.bn(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        if self.paired:
            half = out.shape[1] // 2
            return self.linear(out[:, :half]) - self.linear(out[:, half:])
        return self.linear(out)


def b64(t):
    return base64.b64encode(t.detach().to(torch.float64).contiguous().numpy().astype('<f8').tobytes()).decode()


def randomize(net):
    """Non-trivial values everywhere (batch-norm affine and running statistics included)."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) / fan_in ** 0.5)
            elif name.endswith('weight'):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
        for name, b in net.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(0.3 * torch.randn_like(b))
            elif name.endswith('running_var'):
                b.copy_(0.5 + torch.rand_like(b))


def buffers_of(net):
    return {k: v for k, v in net.state_dict().items() if k.endswith('running_mean') or k.endswith('running_var')}


def run(net, X, labels, train):
    net.zero_grad()
    net.train(train)
    logits = net(X)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return {
        'logits': b64(logits),
        'loss': loss.item(),
        'grads': {k: b64(p.grad) for k, p in net.named_parameters()},
        'buffers': {k: b64(v) for k, v in buffers_of(net).items()},
    }


def case(name, spec, n, seed):
    torch.manual_seed(seed)
    net = Net(spec).double()
    randomize(net)
    X = torch.randn(n, *spec['input'], dtype=torch.float64)
    labels = torch.randint(0, spec['classes'], (n,))
    Y = F.one_hot(labels, spec['classes']).double()
    params = {k: b64(p) for k, p in net.named_parameters()}
    buffers0 = {k: v.clone() for k, v in buffers_of(net).items()}
    out = {
        'name': name, 'spec': spec, 'n': n, 'X': b64(X), 'Y': b64(Y),
        'paramOrder': [k for k, _ in net.named_parameters()],
        'params': params, 'buffers': {k: b64(v) for k, v in buffers0.items()},
    }
    out['train'] = run(net, X, labels, True)
    net.load_state_dict({**net.state_dict(), **buffers0})
    out['eval'] = run(net, X, labels, False)
    return out


def last_max_routing(P, dout, kernel, stride, padding):
    """dL/dP if each max-pool window sent its gradient to its LAST maximum (PyTorch: the first)."""
    n, c, h, w = P.shape
    dP = torch.zeros_like(P)
    for b in range(n):
        for ch in range(c):
            for oy in range(dout.shape[2]):
                for ox in range(dout.shape[3]):
                    best, at = None, None
                    for ky in range(kernel):
                        for kx in range(kernel):
                            iy, ix = oy * stride - padding + ky, ox * stride - padding + kx
                            if 0 <= iy < h and 0 <= ix < w and (best is None or P[b, ch, iy, ix] >= best):
                                best, at = P[b, ch, iy, ix], (iy, ix)
                    dP[b, ch, at[0], at[1]] += dout[b, ch, oy, ox]
    return dP


def tie_case(name, seed):
    """Integer image and integer 3x3 stem weights: different patches reach exactly equal maxima."""
    spec = {
        'kind': 'resnet', 'block': 'basic', 'input': [1, 7, 6],
        'stem': {'channels': 2, 'kernel': 3, 'stride': 1, 'padding': 1,
                 'pool': {'kernel': 3, 'stride': 2, 'padding': 1}},
        'stages': [{'width': 2, 'blocks': 1, 'stride': 1}], 'classes': 3,
    }
    torch.manual_seed(seed)
    net = Net(spec).double()
    randomize(net)
    with torch.no_grad():
        net.conv1.weight.copy_(torch.randint(-1, 2, net.conv1.weight.shape).double())
        net.bn1.weight.copy_(net.bn1.weight.abs())
    X = torch.randint(0, 3, (2, *spec['input'])).double()
    labels = torch.randint(0, spec['classes'], (2,))
    Y = F.one_hot(labels, spec['classes']).double()
    out = {
        'name': name, 'spec': spec, 'n': 2, 'X': b64(X), 'Y': b64(Y),
        'paramOrder': [k for k, _ in net.named_parameters()],
        'params': {k: b64(p) for k, p in net.named_parameters()},
        'buffers': {k: b64(v) for k, v in buffers_of(net).items()},
    }
    buffers0 = {k: v.clone() for k, v in buffers_of(net).items()}
    pool = spec['stem']['pool']
    for mode in ['train', 'eval']:
        net.load_state_dict({**net.state_dict(), **buffers0})
        out[mode] = run(net, X, labels, mode == 'train')
        # How far conv1's gradient moves if ties went to the last maximum instead of the first.
        net.load_state_dict({**net.state_dict(), **buffers0})
        net.train(mode == 'train')
        stem = F.relu(net.bn1(net.conv1(X)))
        pooled = net.maxpool(stem)
        features = F.adaptive_avg_pool2d(net.layer1(pooled), 1).flatten(1)
        loss = F.cross_entropy(net.linear(features), labels)
        dout, = torch.autograd.grad(loss, pooled, retain_graph=True)
        first, = torch.autograd.grad(pooled, stem, dout, retain_graph=True)
        last = last_max_routing(stem.detach(), dout, pool['kernel'], pool['stride'], pool['padding'])
        g_first, = torch.autograd.grad(stem, net.conv1.weight, first, retain_graph=True)
        g_last, = torch.autograd.grad(stem, net.conv1.weight, last)
        assert torch.allclose(b64_decode(out[mode]['grads']['conv1.weight']).view_as(g_first), g_first, atol=1e-12)
        out[mode]['lastMaxConv1Shift'] = (g_first - g_last).abs().max().item()
        assert out[mode]['lastMaxConv1Shift'] > 1e-3, 'the tie case must tell first from last maximum'
    return out


def b64_decode(s):
    import numpy as np
    return torch.from_numpy(np.frombuffer(base64.b64decode(s), dtype='<f8').copy())


def resnet18(block, widths, input_, classes):
    return {
        'kind': 'resnet', 'block': block, 'input': input_,
        'stem': {'channels': widths[0], 'kernel': 3, 'stride': 1, 'padding': 1},
        'stages': [{'width': w, 'blocks': 2, 'stride': s} for w, s in zip(widths, [1, 2, 2, 2])],
        'classes': classes,
    }


def imagenet18(block, widths, input_, classes):
    # torchvision's ImageNet stem: 7x7 stride-2 padding-3 conv, bn, relu, 3x3 stride-2 padding-1 max pool.
    spec = resnet18(block, widths, input_, classes)
    spec['stem'] = {'channels': widths[0], 'kernel': 7, 'stride': 2, 'padding': 3,
                    'pool': {'kernel': 3, 'stride': 2, 'padding': 1}}
    return spec


def blocks(block):
    # No stem: the image feeds a projection block (stride 2, 4 → 6 channels) then an identity block.
    # A 7×6 input makes the stride-2 output sizes need output padding along one axis only.
    return {
        'kind': 'resnet', 'block': block, 'input': [4, 7, 6], 'stem': None,
        'stages': [{'width': 6, 'blocks': 2, 'stride': 2}], 'classes': 3,
        'bnEps': 1e-3, 'bnMomentum': 0.2,
    }


def main():
    cases = [
        case('basic-blocks', blocks('basic'), 4, 1),
        case('preact-blocks', blocks('preact'), 4, 2),
        case('resnet18-4-8-8-8', resnet18('basic', [4, 8, 8, 8], [3, 16, 16], 5), 4, 3),
        case('preact-resnet18-4-8-8-8', resnet18('preact', [4, 8, 8, 8], [3, 16, 16], 5), 4, 4),
        case('resnet18-paired-head-4-4-4-8', {**resnet18('basic', [4, 4, 4, 8], [3, 8, 8], 3), 'head': 'paired'}, 4, 5),
    ]
    meta = {'torch': torch.__version__, 'script': 'packages/models/scripts/make_conv_fixture.py',
            'encoding': 'arrays are base64 of little-endian float64'}
    with open(OUT, 'w') as f:
        json.dump({'meta': meta, 'cases': cases}, f)
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')
    pooled = [
        case('resnet18-imagenet-stem-2-2-4-4', imagenet18('basic', [2, 2, 4, 4], [3, 20, 20], 3), 8, 6),
        case('preact-resnet18-imagenet-stem-2-2-4-4', imagenet18('preact', [2, 2, 4, 4], [3, 20, 20], 3), 8, 7),
        tie_case('pool-ties', 8),
    ]
    with open(OUT_POOL, 'w') as f:
        json.dump({'meta': meta, 'cases': pooled}, f)
    print(f'wrote {OUT_POOL} ({os.path.getsize(OUT_POOL)} bytes)')


if __name__ == '__main__':
    main()
