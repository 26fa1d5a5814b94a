"""What the network says about an image (softmax probabilities, top 5) and where it is wrong over the
validation set: every image's prediction, so a confusion-matrix cell opens the images in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.interpret.common import Cancel, Progress, eval_mode, tick


def probabilities(model: nn.Module, image: torch.Tensor) -> np.ndarray:
    """Softmax probabilities (classes,) of one normalised image (C, H, W)."""
    with eval_mode(model), torch.no_grad():
        return torch.softmax(model(image.detach().float().unsqueeze(0)).float(), 1)[0].cpu().numpy()


def top(probs: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    """(class, probability) of the ``k`` most likely classes, most likely first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [(int(i), float(probs[i])) for i in order]


@dataclass
class Predictions:
    labels: np.ndarray       # (N,) true classes
    predicted: np.ndarray    # (N,) arg-max classes
    confidence: np.ndarray   # (N,) probability of the predicted class
    classes: int

    @property
    def confusion(self) -> np.ndarray:
        """(classes, classes): rows true class, columns predicted (as the training loop's)."""
        k = self.classes
        return np.bincount(self.labels * k + self.predicted, minlength=k * k).reshape(k, k)

    def cell(self, true: int | None = None, predicted: int | None = None) -> np.ndarray:
        """Indices of the misclassified images with this true and/or predicted class, most confident first."""
        keep = self.labels != self.predicted
        if true is not None:
            keep &= self.labels == true
        if predicted is not None:
            keep &= self.predicted == predicted
        idx = np.nonzero(keep)[0]
        return idx[np.argsort(-self.confidence[idx], kind="stable")]


def predictions(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: int, batch: int = 512,
                progress: Progress = None, cancel: Cancel = None) -> Predictions:
    preds, confs = [], []
    n = len(images)
    with eval_mode(model), torch.no_grad():
        for start in range(0, n, batch):
            p = torch.softmax(model(images[start:start + batch]).float(), 1)
            c, i = p.max(1)
            preds.append(i)
            confs.append(c)
            tick(progress, cancel, min(start + batch, n) / n)
    return Predictions(labels.cpu().numpy().astype(np.int64), torch.cat(preds).cpu().numpy().astype(np.int64),
                       torch.cat(confs).cpu().numpy(), classes)
