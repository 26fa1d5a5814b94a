"""Gradient norm per layer at initialisation on one batch: what the plain-vs-residual lesson plots.

A deep plain network multiplies one Jacobian per block on the way back, so the gradient reaching its first
layers shrinks (or grows); the identity shortcuts of a residual network carry it past every block."""

from __future__ import annotations

import torch

from arch.builder import build
from arch.spec import Spec


def gradient_norms(spec: Spec, batch: int = 8, seed: int = 0) -> list[tuple[str, float]]:
    """(layer name, L2 norm of d loss / d weight) for every conv and linear layer, in network order.

    The model is freshly initialised (``torch.manual_seed(seed)``) in training mode; the batch is standard
    normal noise with random labels and the loss is cross-entropy: nothing but the architecture differs
    between two networks compared this way."""
    torch.manual_seed(seed)
    model = build(spec).train()
    x = torch.randn(batch, *spec.input)
    labels = torch.randint(0, spec.num_classes, (batch,))
    loss = torch.nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    out = []
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) and module.weight.grad is not None:
            out.append((name, float(module.weight.grad.norm())))
    return out
