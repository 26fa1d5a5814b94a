"""Training losses and the validation metrics beyond top-1.

The losses take logits and either class indices or soft targets (rows summing to 1, from mixup/cutmix):

* ``ce``  cross-entropy, with label smoothing (default 0.1, TrainConfig);
* ``bce`` binary cross-entropy with logits on one-hot (or soft) targets: one independent sigmoid per class,
  the loss of multi-label problems, here applied to one label per image;
* ``mse`` mean squared error between the softmax and one-hot targets, for teaching: its gradient vanishes when
  a wrong class is confidently predicted, which is why classifiers use cross-entropy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_targets(y: torch.Tensor, classes: int) -> torch.Tensor:
    """Class indices -> one-hot float rows; soft rows are returned as they are."""
    return y if y.is_floating_point() else F.one_hot(y, classes).float()


def loss_of(kind: str, out: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """The mean loss of a batch of logits ``out`` against ``y`` (indices or soft targets)."""
    out = out.float()
    if kind == "ce":
        return F.cross_entropy(out, y, label_smoothing=label_smoothing)
    t = soft_targets(y, out.shape[1])
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(out, t)
    if kind == "mse":
        return F.mse_loss(out.softmax(1), t)
    raise ValueError(f"unknown loss {kind!r}")


def hard_labels(y: torch.Tensor) -> torch.Tensor:
    """Indices of soft targets (their largest entry), indices as they are: for training accuracy."""
    return y.argmax(1) if y.is_floating_point() else y


def topk_correct(out: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """How many rows have their true class among the ``k`` largest logits (a device scalar)."""
    k = min(k, out.shape[1])
    return (out.topk(k, 1).indices == y.unsqueeze(1)).any(1).sum()


def per_class_accuracy(confusion: list[list[int]] | torch.Tensor) -> list[float | None]:
    """Recall of each class from a confusion matrix (rows true, columns predicted); None for a class that
    has no validation image."""
    c = torch.as_tensor(confusion, dtype=torch.float64)
    rows = c.sum(1)
    return [float(c[i, i] / rows[i]) if rows[i] > 0 else None for i in range(len(rows))]
