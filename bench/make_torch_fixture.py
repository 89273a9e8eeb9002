#!/usr/bin/env python3
"""Writes packages/regime/test/onnx-torch-fixture.json: small runs of the exact step of
/work/shared/bench/torch_reference.py (paired: mirrored LeCun init, tanh, loss 1/2 sum (y - f)^2,
SGD + momentum on W and v, W projected onto ||W - W0||_F <= eps; regular: LeCun init, no
projection), with their data, initial parameters, and parameters and loss after `steps` steps,
so that narrownet's ONNX trainer is tested against PyTorch without PyTorch in CI.

  /usr/bin/python3 bench/make_torch_fixture.py
  (cd packages/regime && npx biome format --write test/onnx-torch-fixture.json)
"""
import json
import math
import os

import torch

torch.set_num_threads(1)


def run(regime, n, d, m, eps, lr, momentum, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen)
    x = x / x.norm(dim=1, keepdim=True)
    y = x.sum(dim=1) ** 2
    if regime == "paired":
        half = torch.randn(m // 2, d, generator=gen) / math.sqrt(d)
        w = torch.cat([half, half], 0).requires_grad_(True)
        v = (torch.randn(m // 2, generator=gen) / math.sqrt(m)).requires_grad_(True)

        def forward():
            h = torch.tanh(x @ w.t())
            return h[:, : m // 2] @ v - h[:, m // 2 :] @ v
    else:
        w = (torch.randn(m, d, generator=gen) / math.sqrt(d)).requires_grad_(True)
        v = (torch.randn(m, generator=gen) / math.sqrt(m)).requires_grad_(True)

        def forward():
            return torch.tanh(x @ w.t()) @ v

    w0 = w.detach().clone()
    v0 = v.detach().clone()
    opt = torch.optim.SGD([{"params": [w], "lr": lr}, {"params": [v], "lr": lr}], momentum=momentum)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = 0.5 * ((y - forward()) ** 2).sum()
        loss.backward()
        opt.step()
        if regime == "paired":
            with torch.no_grad():
                delta = w - w0
                norm = delta.norm()
                if norm > eps:
                    w.copy_(w0 + delta * (eps / norm))
    with torch.no_grad():
        final = float(0.5 * ((y - forward()) ** 2).sum())
    flat = lambda t: [float(a) for a in t.detach().reshape(-1)]
    return {
        "regime": regime, "n": n, "d": d, "m": m, "eps": eps, "lr": lr, "momentum": momentum,
        "steps": steps, "torch": torch.__version__,
        "X": flat(x), "Y": flat(y), "W0": flat(w0), "v0": flat(v0),
        "W": flat(w), "v": flat(v), "loss": final,
    }


def main():
    cases = [
        run("paired", 40, 8, 12, 0.3, 0.01, 0.9, 150, 1),
        run("regular", 40, 8, 10, 0.0, 0.01, 0.9, 150, 2),
    ]
    out = os.path.join(os.path.dirname(__file__), "..", "packages", "regime", "test", "onnx-torch-fixture.json")
    with open(out, "w") as f:
        json.dump(cases, f, indent=2)
        f.write("\n")
    print(out)


if __name__ == "__main__":
    main()
