"""Reference values for @narrownet/landscape computed with PyTorch 1.13 + NumPy in float64.

Run from packages/landscape:  /usr/bin/python3 scripts/torch_reference.py
Writes test/fixtures/torch-reference.json (inputs and results); test/torch-reference.test.ts
recomputes every value with the package and compares. PyTorch is not needed in CI: the fixture
is committed together with this script.
"""
import json
import math

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261122)


def tolist(a):
    return [float(x) for x in np.asarray(a).ravel()]


out = {"generator": "scripts/torch_reference.py", "torch": torch.__version__, "numpy": np.__version__}

# 1. Zhang et al.: smallest singular value of J = d f / d W (autograd Jacobian, torch SVD).
zhang = []
ZHANG_CASES = [("shallow", "tanh", 12, 4, 5), ("paired", "tanh", 15, 4, 6), ("shallow", "softplus", 9, 3, 6)]
for kind, act, n, d, m in ZHANG_CASES:
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((m, d)) / math.sqrt(d)
    v = rng.standard_normal(m if kind == "shallow" else m // 2)
    sig = torch.tanh if act == "tanh" else torch.nn.functional.softplus
    Xt, vt = torch.tensor(X), torch.tensor(v)

    def f(Wf):
        h = sig(Xt @ Wf.T)
        if kind == "shallow":
            return h @ vt
        return (h[:, : m // 2] - h[:, m // 2 :]) @ vt

    J = torch.autograd.functional.jacobian(f, torch.tensor(W)).reshape(n, m * d)
    s = torch.linalg.svdvals(J)
    zhang.append({"kind": kind, "activation": act, "n": n, "d": d, "m": m, "X": tolist(X), "W": tolist(W),
                  "v": tolist(v), "sigmaMin": float(s[min(n, m * d) - 1])})
out["zhang"] = zhang

# 2. Kawaguchi et al.: J(θ) = ½‖vec(Y) − Jac β*‖², Jac by autograd w.r.t. all parameters,
#    β* by torch.linalg.lstsq (gelsd, SVD-based, rcond = 1e-12).
kaw = []
for act, layers, bias, n in [("relu", [3, 5, 4, 2], True, 20), ("leakyRelu", [2, 4, 3, 1], False, 25)]:
    X = rng.standard_normal((n, layers[0]))
    Y = rng.standard_normal((n, layers[-1]))
    params = {}
    for l in range(1, len(layers)):
        params[f"W{l}"] = rng.standard_normal((layers[l], layers[l - 1])) / math.sqrt(layers[l - 1])
        if bias:
            params[f"b{l}"] = rng.standard_normal(layers[l]) * 0.3
    names = list(params)
    shapes = [params[k].shape for k in names]
    sizes = [int(np.prod(s)) for s in shapes]
    theta0 = torch.tensor(np.concatenate([params[k].ravel() for k in names]))
    Xt = torch.tensor(X)
    L = len(layers) - 1

    def fwd(theta):
        parts = torch.split(theta, sizes)
        p = {k: t.reshape(s) for k, t, s in zip(names, parts, shapes)}
        h = Xt
        for l in range(1, L + 1):
            z = h @ p[f"W{l}"].T + (p[f"b{l}"] if bias else 0)
            if l == L:
                return z.T.reshape(-1)  # vec(Ŷ), column-major (output j block of n rows)
            h = torch.relu(z) if act == "relu" else torch.nn.functional.leaky_relu(z, 0.01)

    A = torch.autograd.functional.jacobian(fwd, theta0)
    y = torch.tensor(Y.T.reshape(-1).copy())
    beta = torch.linalg.lstsq(A, y.unsqueeze(1), rcond=1e-12, driver="gelsd").solution
    r = y - (A @ beta).squeeze(1)
    kaw.append({"activation": act, "layers": layers, "bias": bias, "n": n, "X": tolist(X), "Y": tolist(Y),
                "params": {k: tolist(params[k]) for k in names}, "J": 0.5 * float(r @ r),
                "rank": int(torch.linalg.matrix_rank(A))})
out["kawaguchi"] = kaw

# 3. Hermite coefficients of tanh and gelu by NumPy's Gauss–HermiteE rule (200 points).
x, w = hermegauss(200)
w = w / math.sqrt(2 * math.pi)
herm = {}
gelu = lambda t: 0.5 * t * (1 + np.vectorize(math.erf)(t / math.sqrt(2)))  # noqa: E731
for name, fn in [("tanh", np.tanh), ("gelu", gelu)]:
    fx = fn(x)
    q = [np.ones_like(x), x.copy()]
    for i in range(1, 10):
        q.append((x * q[i] - math.sqrt(i) * q[i - 1]) / math.sqrt(i + 1))
    herm[name] = [float(np.sum(w * fx * q[i])) for i in range(10)]
out["hermite"] = herm

with open("test/fixtures/torch-reference.json", "w") as fh:
    json.dump(out, fh, indent=1)
print("wrote test/fixtures/torch-reference.json")
