#!/usr/bin/env python3
"""Zhang et al. (2021) App. H.1, transcribed: an independent PyTorch check of Fig. 4's cells.

This follows the paper's own PyTorch listing (App. H.1) and setup (App. H.2) as closely as the
text allows, independently of narrownet's code:

- data: x_i ~ N(0, I_d) normalised to unit norm, y_i = (1^T x_i)^2, n = 1000, d = 200;
- model: tanh, no biases; `zhang2021` = the listing's ShallowNet (fc1 mirrored, fc2 of width
  m/2 used twice: f = fc2(h1) - fc2(h2)); `regular` = fc1 -> tanh -> fc2 of width m;
- init: `--init torch` keeps nn.Linear's defaults, as the listing does (U(+-1/sqrt(fan_in)));
  `--init lecun` draws N(0, 1/fan_in) ("LeCun's initialization", the paper's words);
- loss: nn.MSELoss (the listing's criterion; the mean, not eq. (2)'s 1/2 sum), with the target
  shaped (n, 1) like the prediction (a (n,) target would broadcast to (n, n));
- optimiser: SGD with momentum 0.9, lr1 for fc1 and lr2 for fc2 (App. H.2's grid is on this loss);
- after every step: fc1 projected onto ||W - W0||_F <= eps (skipped for eps >= 1000), and for
  `zhang2021` fc2 passed through the listing's `projectv` (zeta = 0.001, kappa = 1) unless
  `--projectv off`.

Prints one JSON line per run: the settings, the final loss both as the listing's mean squared
error and as eq. (2)'s 1/2 sum (= n/2 * MSE, the unit narrownet reports), the loss every
`--log-every` steps, and the seconds it took.

Needs PyTorch: apt-get install -y python3-torch libopenblas0-pthread, then /usr/bin/python3.

Example (the regular regime at the smallest width of Fig. 4, the paper's 200,000 iterations):
  /usr/bin/python3 apps/reference/scripts/zhang_h1_replica.py --regime regular --m 20 \
      --lr1 0.5 --lr2 0.5 --steps 200000
"""
import argparse
import copy
import json
import math
import time

import torch
import torch.nn as nn


class ShallowNet(nn.Module):
    """The listing's ShallowNet (pairwise v, mirrored hidden layer)."""

    def __init__(self, n_input, n_hidden):
        super().__init__()
        self.fc1 = nn.Linear(n_input, n_hidden, bias=False)
        self.tanh = nn.Tanh()
        self.n_hidden1 = n_hidden
        self.fc2 = nn.Linear(n_hidden // 2, 1, bias=False)
        half = self.fc1.weight[0 : n_hidden // 2]
        self.fc1.weight = nn.Parameter(torch.cat([half, half], dim=0).detach().clone())

    def forward(self, x):
        h = self.tanh(self.fc1(x))
        h1 = h[:, 0 : self.n_hidden1 // 2]
        h2 = h[:, self.n_hidden1 // 2 : self.n_hidden1]
        return self.fc2(h1) - self.fc2(h2)


class RegularNet(nn.Module):
    def __init__(self, n_input, n_hidden):
        super().__init__()
        self.fc1 = nn.Linear(n_input, n_hidden, bias=False)
        self.tanh = nn.Tanh()
        self.n_hidden1 = n_hidden
        self.fc2 = nn.Linear(n_hidden, 1, bias=False)

    def forward(self, x):
        return self.fc2(self.tanh(self.fc1(x)))


def projectv(v):
    """The listing's projectv, verbatim in effect (zeta = 0.001, kappa = 1)."""
    vmax = torch.max(v)
    argmax = torch.argmax(v)
    vmin = torch.min(v)
    argmin = torch.argmin(v)
    if vmin < 0.001:
        v.view(-1)[argmin] = 0.001
    if vmax / vmin > 1:
        v.view(-1)[argmax] = 1 * vmin
    return v


def lecun_(model, gen):
    with torch.no_grad():
        for lin in (model.fc1, model.fc2):
            fan_in = lin.weight.shape[1]
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen) / math.sqrt(fan_in))
        if isinstance(model, ShallowNet):
            half = model.fc1.weight[0 : model.n_hidden1 // 2].clone()
            model.fc1.weight.copy_(torch.cat([half, half], dim=0))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--regime", choices=["zhang2021", "regular"], required=True)
    p.add_argument("--m", type=int, default=20)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=200)
    p.add_argument("--eps", type=float, default=1000.0)
    p.add_argument("--lr1", type=float, default=0.5, help="step size of fc1 on the MSE loss")
    p.add_argument("--lr2", type=float, default=0.5, help="step size of fc2 on the MSE loss")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--steps", type=int, default=200000)
    p.add_argument("--log-every", type=int, default=10000)
    p.add_argument("--init", choices=["torch", "lecun"], default="torch")
    p.add_argument("--projectv", choices=["on", "off"], default="on")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    if a.m < 2 or (a.regime == "zhang2021" and a.m % 2):
        raise SystemExit(f"--m must be an even integer >= 2 for zhang2021, got {a.m}")
    for name in ("lr1", "lr2", "eps"):
        if not getattr(a, name) > 0:
            raise SystemExit(f"--{name} must be > 0, got {getattr(a, name)}")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    x = torch.randn(a.n, a.d, generator=gen)
    x = x / x.norm(dim=1, keepdim=True)
    y = (x.sum(dim=1) ** 2).unsqueeze(1)

    model = ShallowNet(a.d, a.m) if a.regime == "zhang2021" else RegularNet(a.d, a.m)
    if a.init == "lecun":
        lecun_(model, gen)
    model_initial = copy.deepcopy(model)
    optimizer = torch.optim.SGD(
        [{"params": [model.fc1.weight], "lr": a.lr1}, {"params": [model.fc2.weight], "lr": a.lr2}],
        momentum=a.momentum,
    )
    criterion = nn.MSELoss()
    curve = []
    status = "budget"
    start = time.perf_counter()
    loss_value = float("nan")
    for step in range(1, a.steps + 1):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            if a.eps < 1000:
                w, w0 = model.fc1.weight, model_initial.fc1.weight
                dist = torch.norm(w - w0)
                if dist > a.eps:
                    w.copy_(w0 + a.eps * (w - w0) / dist)
            if a.regime == "zhang2021" and a.projectv == "on":
                projectv(model.fc2.weight.data)
        if step % a.log_every == 0 or step == a.steps:
            with torch.no_grad():
                loss_value = criterion(model(x), y).item()
            curve.append([step, loss_value])
            if not math.isfinite(loss_value):
                status = "diverged"
                break
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = criterion(model(x), y).item()
        dist = torch.norm(model.fc1.weight - model_initial.fc1.weight).item()
    print(
        json.dumps(
            {
                "regime": a.regime,
                "m": a.m,
                "eps": a.eps,
                "lr1": a.lr1,
                "lr2": a.lr2,
                "init": a.init,
                "projectv": a.projectv if a.regime == "zhang2021" else None,
                "steps": a.steps,
                "status": status,
                "final_mse": final,
                "final_half_sse": final * a.n / 2,
                "distance_w": dist,
                "curve_mse": curve,
                "seconds": round(seconds, 2),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
