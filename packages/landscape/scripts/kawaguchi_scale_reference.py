"""NumPy/PyTorch reference for bench/kawaguchi-scale.bench.mjs (issue 14).

Reads the cases written by `BENCH_DUMP=<dir> node bench/kawaguchi-scale.bench.mjs` (X, Y and the
relu MLP's weights as raw float64), forms the dense Jacobian of vec(Ŷ) with respect to all weights
by PyTorch autograd (torch.autograd.functional.jacobian, in sample chunks), and computes App. C's residual form
J = ½‖(I − P)vec(Y)‖² with the numericalRecipes cutoff by the SVD-based LAPACK least-squares
driver (torch.linalg.lstsq, driver 'gelsd', rcond = ½·ε·√(rows + cols + 1), i.e. singular values
≤ ½·σ_max·ε·√(rows + cols + 1) are treated as zero). Prints one JSON line per case with the wall
time of the Jacobian and of the solve, and the CPU time of all threads (`cpuSeconds`). Cases whose dense Jacobian (plus LAPACK's copy and
workspace, estimated at 3× its size) does not fit in the available memory are reported as skipped.

Usage (Debian's python3-torch 1.13 + OpenBLAS): /usr/bin/python3 scripts/kawaguchi_scale_reference.py <dump-dir> [case ...]
"""
import json
import os
import sys
import time

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(os.cpu_count() or 1)


def mem_available():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) * 1024
    return 0


def run(case_dir, name):
    meta = json.load(open(os.path.join(case_dir, 'meta.json')))
    n, layers = meta['n'], meta['layers']
    L = len(layers) - 1
    X = torch.from_numpy(np.fromfile(os.path.join(case_dir, 'X.f64')).reshape(n, layers[0]))
    Y = torch.from_numpy(np.fromfile(os.path.join(case_dir, 'Y.f64')).reshape(n, layers[-1]))
    Ws = [torch.from_numpy(np.fromfile(os.path.join(case_dir, f'W{l}.f64')).reshape(layers[l], layers[l - 1]))
          for l in range(1, L + 1)]
    P = sum(w.numel() for w in Ws)
    rows = n * layers[-1]
    need = 3 * rows * P * 8
    if need > mem_available():
        print(json.dumps({'bench': 'kawaguchi.scale.reference', 'case': name, 'rows': rows, 'params': P,
                          'skipped': f'dense Jacobian {rows}x{P} needs ~{need / 2**30:.1f} GiB, '
                                     f'{mem_available() / 2**30:.1f} GiB available'}), flush=True)
        return

    def f(params, x):
        h = x
        for l, W in enumerate(params):
            h = h @ W.T
            if l < L - 1:
                h = torch.relu(h)
        return h

    t0 = time.time()
    c0 = time.process_time()
    J = torch.empty(rows, P)
    chunk = max(1, 2_000_000 // P)
    for i0 in range(0, n, chunk):
        x = X[i0:i0 + chunk]
        jac = torch.autograd.functional.jacobian(lambda *ws: f(ws, x), tuple(Ws), vectorize=True)
        c = x.shape[0]
        J[i0 * layers[-1]:(i0 + c) * layers[-1]] = torch.cat([j.reshape(c * layers[-1], -1) for j in jac], dim=1)
    y = Y.reshape(-1, 1)  # rows (i, j), the same order as J's rows
    t1 = time.time()
    rcond = 0.5 * np.finfo(np.float64).eps * np.sqrt(rows + P + 1)
    sol = torch.linalg.lstsq(J, y, rcond=rcond, driver='gelsd')
    r = y - J @ sol.solution
    t2 = time.time()
    c2 = time.process_time()
    Jval = 0.5 * float((r * r).sum())
    print(json.dumps({'bench': 'kawaguchi.scale.reference', 'case': name, 'rows': rows, 'params': P,
                      'J': Jval, 'rank': int(sol.rank), 'jacobianSeconds': round(t1 - t0, 2),
                      'solveSeconds': round(t2 - t1, 2), 'seconds': round(t2 - t0, 2),
                      'cpuSeconds': round(c2 - c0, 2),
                      'threads': torch.get_num_threads(), 'torch': torch.__version__}), flush=True)


def main():
    root = sys.argv[1]
    names = sys.argv[2:] or sorted(os.listdir(root))
    for name in names:
        run(os.path.join(root, name), name)


if __name__ == '__main__':
    main()
