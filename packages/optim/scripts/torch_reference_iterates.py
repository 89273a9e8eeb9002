"""Reference iterates of torch.optim for @narrownet/optim tests.

Run with /usr/bin/python3 (torch 1.13) from packages/optim:
    python3 scripts/torch_reference_iterates.py > test/fixtures/torch_reference_iterates.json
The JSON is committed; tests read it (CI has no torch).

Every case trains a tiny paired tanh net f(x) = sum_j v_j (tanh(w_j.x) - tanh(w_{j+h}.x)) on
fixed data with float32 torch.optim and records, for every step, the gradients torch used and
the parameters after the step (and after the projection for the PGD cases, which project with
the code of Zhang et al. App. H.1: the Frobenius ball on W and `projectv` on v). The TypeScript
optimizer is fed the recorded gradients and must reproduce the recorded parameters.
"""
import json
import math
import sys

import torch

from zhang_projectv import projectv  # App. H.1, shared with the regime fixture script

torch.manual_seed(0)
N, D, M = 5, 3, 4
X = torch.randn(N, D)
Y = torch.randn(N)
W0 = (torch.randn(M, D) / math.sqrt(D))
W0[M // 2:] = W0[: M // 2]
V0 = torch.rand(M // 2) * 0.5 + 0.1
STEPS = 12


def run(name, make_opt, make_sched=None, ball=None, zk=None):
    W = torch.nn.Parameter(W0.clone())
    v = torch.nn.Parameter(V0.clone())
    W_init = W0.clone()
    opt = make_opt([W, v])
    sched = make_sched(opt) if make_sched else None
    steps = []
    for _ in range(STEPS):
        opt.zero_grad()
        h = torch.tanh(X @ W.t())
        pred = (h[:, : M // 2] - h[:, M // 2:]) @ v
        loss = 0.5 * ((pred - Y) ** 2).sum()
        loss.backward()
        grads = {'W': W.grad.detach().clone().flatten().tolist(), 'v': v.grad.detach().clone().tolist()}
        lrs = [g['lr'] for g in opt.param_groups]
        opt.step()
        with torch.no_grad():
            if ball is not None:
                if torch.norm(W.data - W_init) > ball:
                    W.data = W_init + ball * (W.data - W_init) / torch.norm(W.data - W_init)
            if zk is not None:
                v.data = projectv(v.data, zk[0], zk[1])
        if sched:
            sched.step()
        steps.append({
            'lr': lrs,
            'grads': grads,
            'params': {'W': W.detach().flatten().tolist(), 'v': v.detach().tolist()},
        })
    return {'name': name, 'steps': steps}


def groups(params, lr_w, lr_v, **kw):
    return [{'params': [params[0]], 'lr': lr_w, **kw}, {'params': [params[1]], 'lr': lr_v, **kw}]


cases = [
    run('sgd', lambda p: torch.optim.SGD(groups(p, 0.1, 0.05))),
    run('sgd_momentum', lambda p: torch.optim.SGD(groups(p, 0.1, 0.05), momentum=0.9)),
    run('sgd_momentum_dampening_wd',
        lambda p: torch.optim.SGD(groups(p, 0.1, 0.05), momentum=0.9, dampening=0.3, weight_decay=0.01)),
    run('sgd_nesterov_wd',
        lambda p: torch.optim.SGD(groups(p, 0.1, 0.05), momentum=0.9, nesterov=True, weight_decay=5e-4)),
    run('adam', lambda p: torch.optim.Adam(groups(p, 1e-2, 5e-3))),
    run('adam_wd_betas', lambda p: torch.optim.Adam(groups(p, 1e-2, 5e-3), betas=(0.8, 0.99), weight_decay=1e-4)),
    run('adamw', lambda p: torch.optim.AdamW(groups(p, 1e-2, 5e-3))),
    run('adamw_cosine', lambda p: torch.optim.AdamW(groups(p, 1e-2, 5e-3), weight_decay=0.1),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=1e-3)),
    run('sgd_momentum_multistep', lambda p: torch.optim.SGD(groups(p, 0.1, 0.05), momentum=0.9),
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 6, 6], gamma=0.5)),
    run('pgd_alg2_paper', lambda p: torch.optim.SGD(groups(p, 0.5, 0.5), momentum=0.9), ball=0.05, zk=(0.3, 1.0)),
    run('pgd_alg2_paper_kappa2', lambda p: torch.optim.SGD(groups(p, 0.5, 0.5), momentum=0.9), ball=0.05,
        zk=(0.2, 2.0)),
]


def sched_lrs(make, n=40, lr=0.1):
    p = torch.nn.Parameter(torch.zeros(1))
    o = torch.optim.SGD([p], lr=lr)
    s = make(o)
    out = []
    for _ in range(n):
        out.append(o.param_groups[0]['lr'])
        o.step()
        s.step()
    return out


schedules = {
    'cosine_T10_eta0.01_lr0.1': sched_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, 0.01), 11),
    'cosine_T25_eta0_lr0.1': sched_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 25), 26),
    'multistep_3_7_7_20_g0.3_lr0.1': sched_lrs(
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3, 7, 7, 20], 0.3), 30),
}

json.dump({
    'torch': torch.__version__,
    'shape': {'W': [M, D], 'v': [M // 2]},
    'init': {'W': W0.flatten().tolist(), 'v': V0.tolist()},
    'cases': cases,
    'schedules': schedules,
}, sys.stdout, indent=None)
sys.stdout.write('\n')
