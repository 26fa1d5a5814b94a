"""Grad-CAM (Selvaraju et al. 2017): a class's gradient averaged over a spatial layer's positions weighs
that layer's channels; the ReLU of the weighted sum, upsampled to the input, shows where the evidence for
the class lies. Guided Grad-CAM multiplies it with guided backpropagation of the class score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.errors import ConfigError
from training.interpret.common import check_class, eval_mode
from training.interpret.deconv import relu_rule
from training.visualize import get_layer


@dataclass
class GradCAM:
    layer: str
    target: int
    prob: float              # softmax probability of ``target``
    coarse: np.ndarray       # (h, w) at the layer's resolution, ReLU applied, not rescaled
    map: np.ndarray          # (H, W) upsampled (bilinear) and scaled to max 1 (all 0 when no positive evidence)
    peak: tuple[int, int]    # (row, col) input pixel of the largest value of ``map``
    guided: np.ndarray | None = None  # (C, H, W) guided Grad-CAM: guided backprop x map


def _class_gradient(model: nn.Module, layer: str, x: torch.Tensor, target: int | None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, float]:
    """(activations, their gradient, input gradient, target, probability) of one forward + backward."""
    module = get_layer(model, layer)
    seen: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: seen.append(out))
    try:
        xg = x.detach().float().unsqueeze(0).requires_grad_(True)
        logits = model(xg)
    finally:
        handle.remove()
    if not seen or seen[0].ndim != 4:
        shape = tuple(seen[0].shape[1:]) if seen else "nothing"
        raise ConfigError(f"layer {layer!r} gives {shape}: Grad-CAM needs a spatial layer (C, H, W)")
    if target is None:
        target = int(logits.argmax(1))
    check_class(logits, target)
    prob = float(torch.softmax(logits.detach().float(), 1)[0, target])
    act = seen[0]
    grad_act, grad_x = torch.autograd.grad(logits[0, target], (act, xg))
    return act.detach(), grad_act, grad_x, target, prob


def gradcam(model: nn.Module, layer: str, image: torch.Tensor, target: int | None = None,
            guided: bool = False) -> GradCAM:
    """Grad-CAM of class ``target`` (default: the predicted class) at ``layer`` for a normalised ``image``."""
    h, w = image.shape[-2:]
    with eval_mode(model), torch.enable_grad():
        act, grad, _, target, prob = _class_gradient(model, layer, image, target)
        weights = grad.mean((2, 3), keepdim=True)
        coarse = F.relu((weights * act).sum(1, keepdim=True))
        up = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
        peak_v = float(up.max())
        cam = (up / peak_v if peak_v > 0 else torch.zeros_like(up)).cpu().numpy()
        guided_map = None
        if guided:
            with relu_rule(model, "guided"):
                _, _, gx, _, _ = _class_gradient(model, layer, image, target)
            guided_map = (gx[0].cpu().numpy() * cam[None]).astype(np.float32)
    peak = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return GradCAM(layer, target, prob, coarse[0, 0].cpu().numpy(), cam.astype(np.float32),
                   (int(peak[0]), int(peak[1])), guided_map)
