"""Training losses and the validation metrics beyond top-1.

The losses take logits and either class indices or soft targets (rows summing to 1, from mixup/cutmix), or,
for multi-label data, multi-hot rows (any number of ones):

* ``ce``  cross-entropy, with label smoothing (default 0.1, TrainConfig);
* ``bce`` binary cross-entropy with logits: one independent sigmoid per class, the loss of multi-label data
  (the only one it takes, and ``auto``'s choice for it); on single-label data, applied to one-hot targets;
* ``mse`` mean squared error between the softmax and one-hot targets, for teaching: its gradient vanishes when
  a wrong class is confidently predicted, which is why classifiers use cross-entropy.

Multi-label predictions are the classes whose sigmoid exceeds 0.5 (logit > 0); their metrics are
``multilabel_metrics``'s. Top-5 and the confusion matrix assume one class per image, so multi-label runs have
neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from training.errors import ConfigError


def resolve_loss(loss: str, multilabel: bool) -> str:
    """The loss a run uses: ``auto`` follows the data (bce for multi-label, ce otherwise); ce and mse need one
    class per image, so multi-label data refuses them."""
    if loss == "auto":
        return "bce" if multilabel else "ce"
    if multilabel and loss != "bce":
        raise ConfigError(f"loss: multi-label data needs --loss bce (or auto), not {loss}")
    return loss


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


def correct(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """How many rows are predicted right (a device scalar): top-1 against class indices; against multi-hot rows,
    every class at once (logit > 0 against target > 0.5: exact match)."""
    if y.ndim == 2:
        return ((out > 0) == (y > 0.5)).all(1).sum()
    return (out.argmax(1) == y).sum()


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


@dataclass
class MultiLabelMetrics:
    """Multi-label validation figures. ``exact``: share of images whose predicted class set equals the true one
    (subset accuracy, sklearn's ``accuracy_score`` on multi-hot rows); ``per_class``: per class, the share of
    images where that class is predicted right (present or absent); ``f1`` / ``ap``: per class F1 and average
    precision (None where undefined: F1 of a class neither present nor predicted, AP of a class never present);
    ``mean_f1`` / ``mean_ap`` their means over the defined classes."""

    exact: float
    per_class: list[float]
    f1: list[float | None]
    ap: list[float | None]
    mean_f1: float | None
    mean_ap: float | None


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def average_precision(scores: torch.Tensor, targets: torch.Tensor) -> list[float | None]:
    """Average precision of each column, as sklearn's ``average_precision_score``: the sum over score thresholds
    (tied scores are one threshold) of recall gained times precision; None for a column with no positive."""
    s, order = scores.double().sort(0, descending=True)
    t = targets.gather(0, order).double()
    tp = t.cumsum(0)
    precision = tp / torch.arange(1, len(s) + 1, dtype=torch.float64).unsqueeze(1)
    last = torch.ones_like(s, dtype=torch.bool)  # the last row of each run of tied scores: a threshold
    last[:-1] = s[:-1] != s[1:]
    reached = (tp * last).cummax(0).values  # true positives at the latest threshold so far
    before = torch.cat([torch.zeros_like(reached[:1]), reached[:-1]])
    gained = (tp - before) * last
    positives = t.sum(0)
    ap = (gained * precision).sum(0) / positives.clamp(min=1)
    return [float(a) if p > 0 else None for a, p in zip(ap, positives)]


def multilabel_metrics(logits: torch.Tensor, targets: torch.Tensor) -> MultiLabelMetrics:
    """The figures of :class:`MultiLabelMetrics` for logits (N, classes) and multi-hot targets (N, classes); a
    class is predicted when its sigmoid exceeds 0.5 (logit > 0)."""
    z, truth = logits.detach().float().cpu(), targets.detach().cpu() > 0.5
    pred = z > 0
    n = max(len(z), 1)
    right = pred == truth
    tp, fp, fn = ((pred & truth).sum(0).tolist(), (pred & ~truth).sum(0).tolist(),
                  (~pred & truth).sum(0).tolist())
    f1 = [2 * a / (2 * a + b + c) if 2 * a + b + c > 0 else None for a, b, c in zip(tp, fp, fn)]
    ap = average_precision(z, truth)
    return MultiLabelMetrics(float(right.all(1).sum()) / n, (right.sum(0).double() / n).tolist(), f1, ap,
                             _mean(f1), _mean(ap))
