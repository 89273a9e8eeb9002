"""PyTorch's softmax cross-entropy on extreme logits, for @narrownet/models tests.

Run with /usr/bin/python3 (torch 1.13) from packages/models:
    python3 scripts/torch_cross_entropy.py > test/fixtures/cross_entropy_torch.json
The JSON is committed; tests read it (CI has no torch).

Each case gives logits P [n, k] and targets Y [n, k] (one-hot or probability rows) and records
F.cross_entropy(P, Y) (mean over samples; class-probability targets, torch >= 1.10) and its gradient
with respect to P, in float64 and in float32, plus the gradient with respect to W of the linear
map P = X W^T at W = I (X = P), which is what a trained output layer sees.
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(0)


def one_hot(labels, k):
    return F.one_hot(torch.tensor(labels), k).double()


def case(name, P, Y):
    P = torch.tensor(P, dtype=torch.float64) if not torch.is_tensor(P) else P.double()
    Y = Y.double()
    out = {'name': name, 'n': P.shape[0], 'k': P.shape[1], 'P': P.flatten().tolist(), 'Y': Y.flatten().tolist()}
    for dtype, tag in ((torch.float64, '64'), (torch.float32, '32')):
        Pd = P.to(dtype).clone().requires_grad_(True)
        loss = F.cross_entropy(Pd, Y.to(dtype))
        loss.backward()
        out[f'loss{tag}'] = loss.item()
        out[f'gradP{tag}'] = Pd.grad.flatten().tolist()
    X = P.to(torch.float32)
    W = torch.eye(P.shape[1], dtype=torch.float32, requires_grad=True)
    loss = F.cross_entropy(X @ W.t(), Y.to(torch.float32))
    loss.backward()
    out['gradW32'] = W.grad.flatten().tolist()
    return out


k = 4
cases = [
    case('huge_logits_one_hot', [[1e4, -1e4, 0, 5], [-1e4, -1e4, -1e4, 1e4], [0, 0, 1e4, 1e4]],
         one_hot([1, 3, 0], k)),
    case('huge_logits_correct_class', [[1e4, -1e4, 0, 5], [3, 1e4, -2, 0]], one_hot([0, 1], k)),
    case('equal_logits', [[7.5, 7.5, 7.5, 7.5], [-1e4, -1e4, -1e4, -1e4], [0, 0, 0, 0]], one_hot([2, 0, 3], k)),
    case('probability_targets', [[1e4, 0, -1e4, 2], [1, 2, 3, 4], [-5, 5, 0, 0]],
         torch.tensor([[0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4], [0, 0.5, 0.5, 0]])),
    case('random_moderate', torch.randn(5, k) * 3, one_hot([0, 1, 2, 3, 1], k)),
]
json.dump({'torch': torch.__version__, 'cases': cases}, sys.stdout, indent=1)
