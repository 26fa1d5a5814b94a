"""Zero-cost proxies: a score of an untrained network from one batch, meant to rank candidates before
training them. Not used by the search by default: benchmarks/search_speed.py measures whether it ranks
the shipped MNIST space's candidates (Spearman against trained accuracy) and whether it speeds the search.

NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021): the binary codes of
which ReLU units fire for each image of a batch; networks whose codes tell the images apart (a kernel of
code agreements with a large log-determinant) tend to train better.
"""

from __future__ import annotations

import torch
from torch import nn

from arch.activations import ACTIVATIONS

RELUS = tuple(getattr(nn, a.module) for a in ACTIVATIONS if a.rectifier)  # units that fire above 0


@torch.no_grad()
def naswot(model: nn.Module, batch: torch.Tensor) -> float:
    """log|K| of the activation-code kernel over ``batch`` (N images; larger is better)."""
    codes: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        codes.append((output.detach().flatten(1) > 0).float())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, RELUS)]
    was = model.training
    model.train()  # batch statistics, as the network would see them in its first step
    try:
        model(batch)
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    if not codes:
        return float("-inf")
    c = torch.cat(codes, dim=1).double()
    k = c @ c.T + (1 - c) @ (1 - c).T
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet) if sign > 0 else float("-inf")


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""

    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        out = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0
