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
Output: packages/models/test/fixtures/conv_torch.json

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
            if spec['block'] == 'basic':
                self.bn1 = bn(cin, spec)
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
            if self.spec['block'] == 'basic':
                out = F.relu(self.bn1(out))
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


def resnet18(block, widths, input_, classes):
    return {
        'kind': 'resnet', 'block': block, 'input': input_,
        'stem': {'channels': widths[0], 'kernel': 3, 'stride': 1, 'padding': 1},
        'stages': [{'width': w, 'blocks': 2, 'stride': s} for w, s in zip(widths, [1, 2, 2, 2])],
        'classes': classes,
    }


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


if __name__ == '__main__':
    main()
