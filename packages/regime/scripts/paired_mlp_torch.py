#!/usr/bin/env python3
"""PyTorch (float64) reference for the pairedMlp spec and Alg. 2 on its last two layers.

Writes ../test/fixtures/paired-mlp-torch.json: for 2-hidden-layer nets whose last two layers are
paired (Zhang et al. App. G / H.2: f(x) = V (s(z_top) - s(z_bot)), V of shape [k, m2/2]) with
softmax cross-entropy (torch.nn.functional.cross_entropy on class labels), the mirrored LeCun
start, then 3 steps of torch.optim.SGD (momentum 0.9, weight decay 5e-4) each followed by the
projections: the Frobenius ball ||W2 - W2_0||_F <= eps on the last hidden layer (with b2 when
the net has biases) and B_{zeta,kappa} on every row of V. At every iterate t = 0..3 it records
the predictions, the loss and every gradient (torch autograd); after every step, the parameters.

The B_{zeta,kappa} projections are written here independently of narrownet's code:
  exact     brute force over the pieces of g(t) = sum (t - v)_+^2 + (v - kappa t)_+^2, t >= zeta
            (each piece is a quadratic: minimise it on the piece, keep the best piece);
  heuristic App. H.1's projectv (transcribed in packages/optim/scripts/zhang_projectv.py), on each row.

Run: /usr/bin/python3 packages/regime/scripts/paired_mlp_torch.py  (torch 1.13)
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

# App. H.1's projectv, transcribed once in the optim package's fixture scripts
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "optim", "scripts"))
from zhang_projectv import projectv  # noqa: E402

torch.set_default_dtype(torch.float64)


def level_exact(v, zeta, kappa):
    """t* = argmin_{t >= zeta} sum (t - v)_+^2 + (v - kappa t)_+^2, by brute force over the pieces."""
    vs = [float(x) for x in v]
    g = lambda t: sum(max(t - x, 0.0) ** 2 + max(x - kappa * t, 0.0) ** 2 for x in vs)
    bps = sorted({zeta} | {x for x in vs if x > zeta} | {x / kappa for x in vs if x / kappa > zeta})
    edges = bps + [math.inf]
    best_t, best_g = zeta, g(zeta)
    for a, b in zip(edges[:-1], edges[1:]):
        probe = (a + b) / 2 if b < math.inf else a + 1 + abs(a)
        lo = [x for x in vs if x < probe]
        up = [x for x in vs if x > kappa * probe]
        den = len(lo) + kappa * kappa * len(up)
        t = (sum(lo) + kappa * sum(up)) / den if den > 0 else a
        t = min(max(t, a), b)
        if g(t) < best_g:
            best_t, best_g = t, g(t)
    return best_t


def project_rows_exact(V, zeta, kappa):
    out = V.clone()
    for c in range(V.shape[0]):
        t = level_exact(V[c], zeta, kappa)
        out[c] = V[c].clamp(min=t, max=kappa * t)
    return out


def make_case(name, seed, d, m1, m2, k, n, act, bias, eps, zeta, kappa, method, lr):
    gen = torch.Generator().manual_seed(seed)
    randn = lambda *s: torch.randn(*s, generator=gen)
    X = randn(n, d)
    labels = torch.randint(0, k, (n,), generator=gen)
    W1 = randn(m1, d) / math.sqrt(d)
    half = randn(m2 // 2, m1) / math.sqrt(m1)
    W2 = torch.cat([half, half], 0)
    V = (randn(k, m2 // 2) / math.sqrt(m2)).abs()
    params = {"W1": W1}
    if bias:
        # hidden biases: b1 free (random, to exercise it), b2 mirrored (zero-mean random halves equal)
        params["b1"] = 0.1 * randn(m1)
        bh = 0.1 * randn(m2 // 2)
        params["b2"] = torch.cat([bh, bh])
    params["W2"] = W2
    params["V"] = V
    order = ["W1"] + (["b1"] if bias else []) + ["W2"] + (["b2"] if bias else []) + ["V"]
    params = {key: params[key].clone().requires_grad_(True) for key in order}
    sigma = {"relu": torch.relu, "tanh": torch.tanh}[act]
    ball = ["W2"] + (["b2"] if bias else [])
    anchors = {key: params[key].detach().clone() for key in ball}

    def forward():
        z1 = X @ params["W1"].t() + (params["b1"] if bias else 0)
        h1 = sigma(z1)
        z2 = h1 @ params["W2"].t() + (params["b2"] if bias else 0)
        h2 = sigma(z2)
        D = h2[:, : m2 // 2] - h2[:, m2 // 2 :]
        return D @ params["V"].t()

    opt = torch.optim.SGD(list(params.values()), lr=lr, momentum=0.9, weight_decay=5e-4)
    iterates = []
    start = {key: p.detach().clone().reshape(-1).tolist() for key, p in params.items()}
    for t in range(4):
        opt.zero_grad()
        pred = forward()
        loss = F.cross_entropy(pred, labels)
        loss.backward()
        rec = {
            "pred": pred.detach().reshape(-1).tolist(),
            "loss": loss.item(),
            "grads": {key: p.grad.detach().reshape(-1).tolist() for key, p in params.items()},
        }
        if t < 3:
            opt.step()
            with torch.no_grad():
                delta = torch.cat([(params[key] - anchors[key]).reshape(-1) for key in ball])
                nrm = torch.linalg.norm(delta)
                if nrm > eps:
                    for key in ball:
                        params[key].copy_(anchors[key] + eps * (params[key] - anchors[key]) / nrm)
                if method == "exact":
                    params["V"].copy_(project_rows_exact(params["V"], zeta, kappa))
                else:
                    params["V"].copy_(torch.stack([projectv(r, zeta, kappa) for r in params["V"]]))
            rec["after"] = {key: p.detach().reshape(-1).tolist() for key, p in params.items()}
            rec["ballNormBeforeProjection"] = nrm.item()
        iterates.append(rec)
    Y = F.one_hot(labels, k).to(torch.float64)
    return {
        "name": name,
        "layers": [d, m1, m2, k],
        "activation": act,
        "bias": bias,
        "n": n,
        "eps": eps,
        "zeta": zeta,
        "kappa": kappa,
        "method": method,
        "lr": lr,
        "momentum": 0.9,
        "weightDecay": 5e-4,
        "X": X.reshape(-1).tolist(),
        "Y": Y.reshape(-1).tolist(),
        "params": start,
        "iterates": iterates,
    }


def main():
    cases = [
        make_case("relu, no bias, exact B_{zeta,kappa} per row (kappa 2)", 1, 7, 8, 10, 4, 12, "relu", False,
                  eps=0.05, zeta=0.05, kappa=2.0, method="exact", lr=0.5),
        make_case("tanh, hidden biases, paperHeuristic per row (kappa 1)", 2, 5, 6, 8, 3, 10, "tanh", True,
                  eps=0.08, zeta=0.001, kappa=1.0, method="paperHeuristic", lr=0.4),
    ]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "paired-mlp-torch.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f)
    for c in cases:
        print(c["name"], [round(it["loss"], 6) for it in c["iterates"]],
              [round(it.get("ballNormBeforeProjection", 0), 4) for it in c["iterates"]])


if __name__ == "__main__":
    main()
