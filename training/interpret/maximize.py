"""Activation maximisation (Erhan et al. 2009; the regularisers of Yosinski et al. 2015 and Mahendran and
Vedaldi 2015): gradient ascent on an input, from noise, towards what a channel or a class responds
to most. Each step jitters the image (a random roll), and the image is blurred every few steps; a total
variation and an L2 penalty keep it smooth and faint; pixels stay within the data's range."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from training.errors import ConfigError
from training.interpret.common import Cancel, Progress, check_channel, check_class, eval_mode, spatial_output, tick


@dataclass
class Maximized:
    target: str               # "class 3" or "body.2.conv channel 5"
    steps: int
    start: float              # the objective on the starting noise
    value: float              # the objective on the result
    image: torch.Tensor       # (C, H, W) normalised
    history: list[float] = field(default_factory=list)  # the objective every step (jittered input)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, round(2 * sigma))
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _tv(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def maximize(model: nn.Module, input_shape: tuple[int, int, int], layer: str | None = None,
             channel: int | None = None, target_class: int | None = None, steps: int = 128, lr: float = 0.05,
             jitter: int = 2, blur_every: int = 4, blur_sigma: float = 0.5, tv: float = 0.05, l2: float = 0.01,
             bounds: tuple[torch.Tensor, torch.Tensor] | None = None, seed: int = 0, progress: Progress = None,
             cancel: Cancel = None) -> Maximized:
    """Maximise the mean of ``layer``'s ``channel`` (both given) or the logit of ``target_class``.

    ``bounds``: per-channel (low, high) tensors (C, 1, 1) of valid normalised pixels (default: +-3)."""
    if (channel is None) == (target_class is None) or (channel is not None and not layer):
        raise ConfigError("activation maximisation needs a layer and a channel, or a class")

    def objective(x: torch.Tensor) -> torch.Tensor:
        if target_class is not None:
            logits = model(x)
            check_class(logits, target_class)
            return logits[:, target_class].mean()
        out = spatial_output(model, layer, x)  # type: ignore[arg-type]
        check_channel(out, layer, channel)  # type: ignore[arg-type]
        return out[:, channel].mean()

    g = torch.Generator().manual_seed(seed)
    lo, hi = bounds if bounds is not None else (torch.full((input_shape[0], 1, 1), -3.0),
                                                torch.full((input_shape[0], 1, 1), 3.0))
    x = (0.5 * torch.randn(1, *input_shape, generator=g)).clamp(lo, hi).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    history = []
    with eval_mode(model), torch.enable_grad():
        for p in model.parameters():
            p.requires_grad_(False)
        try:
            with torch.no_grad():
                start = float(objective(x))
            for i in range(steps):
                dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=g))
                value = objective(torch.roll(x, (dy, dx), (2, 3)))
                loss = -value + tv * _tv(x) + l2 * (x * x).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    if blur_every and (i + 1) % blur_every == 0:
                        x.copy_(_blur(x, blur_sigma))
                    x.copy_(torch.maximum(torch.minimum(x, hi), lo))
                history.append(float(value.detach()))
                if i % 8 == 7 or i == steps - 1:
                    tick(progress, cancel, (i + 1) / steps)
            with torch.no_grad():
                final = float(objective(x))
        finally:
            for p in model.parameters():
                p.requires_grad_(True)
    name = f"class {target_class}" if target_class is not None else f"{layer} channel {channel}"
    return Maximized(name, steps, start, final, x.detach()[0], history)
