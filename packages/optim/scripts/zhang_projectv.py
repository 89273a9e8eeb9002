"""Zhang et al. 2021 App. H.1's `projectv`, transcribed once for the PyTorch fixture scripts.

Imported by scripts/torch_reference_iterates.py (this directory) and by
packages/regime/scripts/paired_mlp_torch.py; it is the paper's code, not narrownet's, so the
fixtures stay an independent computation. Plain module: importing it runs nothing.
"""
import torch


def projectv(v, zeta, kappa):
    """App. H.1's projectv with the threshold 0.001 -> zeta and the ratio 1 -> kappa (on a copy of v)."""
    v = v.clone()
    vmax = torch.max(v)
    argmax = torch.argmax(v)
    vmin = torch.min(v)
    argmin = torch.argmin(v)
    if vmin < zeta:
        v[argmin] = zeta
    if vmax / vmin > kappa:
        v[argmax] = kappa * vmin
    return v
