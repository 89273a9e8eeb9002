"""Reference iterates of torch.optim with schedulers stepped once per EPOCH, for @narrownet/optim.

Run with /usr/bin/python3 (torch 1.13) from packages/optim:
    python3 scripts/torch_epoch_schedules.py > test/fixtures/torch_epoch_schedules.json
The JSON is committed; tests read it (CI has no torch).

Each case trains one parameter tensor W [3, 4] of a tiny least-squares model with float32
torch.optim for EPOCHS epochs of STEPS_PER_EPOCH optimizer steps, calling scheduler.step() after
each epoch (the usual PyTorch epoch loop: CosineAnnealingLR with T_max = number of epochs,
MultiStepLR with milestones in epochs). Weight decay is torch's own (SGD: g + wd*p before momentum;
Adam: L2 added to the gradient). It records per step the lr used, the gradient and W after the step;
the TypeScript lowerings are fed the recorded gradients and must reproduce W.
"""
import json

import torch

torch.manual_seed(1)
X = torch.randn(6, 4)
Y = torch.randn(6, 3)
W0 = torch.randn(3, 4) * 0.5
STEPS_PER_EPOCH = 3


def run(name, make_opt, make_sched, epochs):
    W = torch.nn.Parameter(W0.clone())
    opt = make_opt([W])
    sched = make_sched(opt)
    steps = []
    for _ in range(epochs):
        for _ in range(STEPS_PER_EPOCH):
            opt.zero_grad()
            loss = ((X @ W.t() - Y) ** 2).sum()
            loss.backward()
            lr = opt.param_groups[0]['lr']
            grad = W.grad.detach().clone().flatten().tolist()
            opt.step()
            steps.append({'lr': lr, 'grad': grad, 'W': W.detach().flatten().tolist()})
        sched.step()
    return {'name': name, 'epochs': epochs, 'stepsPerEpoch': STEPS_PER_EPOCH, 'steps': steps}


cases = [
    # Zhang et al. App. H.2, MNIST: SGD(0.01, momentum 0.9, wd 5e-4), cosine with T_max = epochs
    run('sgd_momentum_wd_cosine',
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=5e-4),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5), 5),
    # ... or Adam(1e-3, wd 1e-4), cosine with T_max = epochs
    run('adam_wd_cosine',
        lambda p: torch.optim.Adam(p, lr=1e-3, weight_decay=1e-4),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4), 4),
    # App. H.6 style: SGD lr 0.1, x0.1 at given epochs
    run('sgd_multistep',
        lambda p: torch.optim.SGD(p, lr=0.1),
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[1, 3], gamma=0.1), 5),
]

json.dump({
    'torch': torch.__version__,
    'shape': [3, 4],
    'init': W0.flatten().tolist(),
    'cases': cases,
}, __import__('sys').stdout, indent=1)
