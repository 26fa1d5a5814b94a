"""Rich augmentation for whole batches on the training device: random affine, colour jitter, random erasing,
AutoAugment / RandAugment / TrivialAugment, and mixup / cutmix with soft targets.

Every transform takes a uint8 (N, C, H, W) batch and draws one set of parameters *per image* as tensors, so a
batch costs a handful of tensor ops, never a Python loop over samples. Results are rounded back to uint8
(as torchvision does for uint8 images), which makes identity parameters give the input back exactly.

torchvision.transforms.v2's policies (AutoAugment, RandAugment, TrivialAugmentWide) run batched on tensors but
sample ONE operation (and magnitude) per call and apply it to every image of the batch. Applied to a whole
batch, every image of a step would get the same op, which correlates the batch. ``Policy`` therefore splits
a batch into ``POLICY_CHUNKS`` slices and calls the policy once per slice, each slice with its own sampled op
(seeded from the augmenter's generator, so a seed repeats). That is a few calls per batch, not one per image.

Randomness: per-image draws come from a ``torch.Generator`` on the data's device; per-batch scalars (the
mixup/cutmix ratio, the policy seeds) from a NumPy generator seeded alongside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from training.losses import soft_targets

POLICY_CHUNKS = 8  # slices of a batch that each get their own policy op (v2 policies pick one op per call)
ERASE_AREA = (0.02, 0.33)  # torchvision RandomErasing's defaults: area fraction and aspect-ratio range
ERASE_RATIO = (0.3, 3.3)
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as torchvision's rgb_to_grayscale


def _uniform(n: int, low: float, high: float, g: torch.Generator, device: torch.device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g, device=device)


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.round_().clamp_(0, 255).to(torch.uint8)


# ------------------------------------------------------------------------------------------------ affine
def affine(x: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor,
           shear: torch.Tensor) -> torch.Tensor:
    """Each image turned by its own ``angle`` (degrees, counter-clockwise as seen), scaled by ``scale``, sheared
    by ``shear`` (degrees, along x) and moved by (``tx``, ``ty``) (fractions of the width and height), about the
    centre; outside pixels are 0. Bilinear, then rounded to uint8."""
    n, _, h, w = x.shape
    a, sh = torch.deg2rad(angle.float()), torch.deg2rad(shear.float())
    cos, sin = torch.cos(a), torch.sin(a)
    # forward map in centred pixel coordinates (x right, y down): p' = S * R * Sh * p + t
    k = torch.tan(sh)
    m00, m01 = cos, cos * k + sin
    m10, m11 = -sin, -sin * k + cos
    m = torch.stack([torch.stack([m00, m01], -1), torch.stack([m10, m11], -1)], -2) * scale.float().view(n, 1, 1)
    inv = torch.linalg.inv(m)  # output -> input, as grid_sample wants
    half = torch.tensor([w / 2.0, h / 2.0], device=x.device)
    t = torch.stack([tx.float() * w, ty.float() * h], -1)
    lin = inv / half.view(1, 2, 1) * half.view(1, 1, 2)   # D^-1 inv D: normalised coordinates
    shift = -(inv @ t.unsqueeze(-1)).squeeze(-1) / half    # -D^-1 inv t
    theta = torch.cat([lin, shift.unsqueeze(-1)], -1)
    grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)
    out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return _to_uint8(out)


def random_affine(x: torch.Tensor, rotate: float, scale: float, translate: float, shear: float,
                  g: torch.Generator) -> torch.Tensor:
    """torchvision's RandomAffine(degrees=rotate, translate=(t, t), scale=(1-s, 1+s), shear=shear) per image."""
    n, d = x.shape[0], x.device
    return affine(x, _uniform(n, -rotate, rotate, g, d), _uniform(n, 1 - scale, 1 + scale, g, d),
                  _uniform(n, -translate, translate, g, d), _uniform(n, -translate, translate, g, d),
                  _uniform(n, -shear, shear, g, d))


# ------------------------------------------------------------------------------------------------ colour
def _grey(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) luminance of a float batch (the batch itself when it has one channel)."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x[:, :3] * w).sum(1, keepdim=True)


def _hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate each image's hue by ``shift`` turns (in [-0.5, 0.5]) about the grey axis of YIQ space: a linear
    rotation of the chroma, which keeps luminance (torchvision goes through HSV instead; both turn the hue)."""
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                          device=x.device)
    from_yiq = torch.linalg.inv(to_yiq)
    a = shift.float() * 2 * math.pi
    cos, sin = torch.cos(a), torch.sin(a)
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    rot = torch.stack([torch.stack([one, zero, zero], -1), torch.stack([zero, cos, -sin], -1),
                       torch.stack([zero, sin, cos], -1)], -2)  # (N, 3, 3)
    mat = from_yiq @ rot @ to_yiq
    return torch.einsum("nij,njhw->nihw", mat, x)


def color_jitter(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor, saturation: torch.Tensor,
                 hue: torch.Tensor) -> torch.Tensor:
    """Per-image factors, in torchvision ColorJitter's order (brightness, contrast, saturation, hue); factor 1
    (hue 0) changes nothing. One-channel images have no saturation or hue: those two are skipped for them."""
    n = x.shape[0]
    y = x.float() * brightness.view(n, 1, 1, 1)
    y = y.clamp_(0, 255)
    mean = _grey(y).mean((1, 2, 3), keepdim=True)
    y = ((y - mean) * contrast.view(n, 1, 1, 1) + mean).clamp_(0, 255)
    if x.shape[1] == 3:
        grey = _grey(y)
        y = ((y - grey) * saturation.view(n, 1, 1, 1) + grey).clamp_(0, 255)
        y = _hue(y, hue).clamp_(0, 255)
    return _to_uint8(y)


def random_color_jitter(x: torch.Tensor, brightness: float, contrast: float, saturation: float, hue: float,
                        g: torch.Generator) -> torch.Tensor:
    """torchvision's ColorJitter(brightness, contrast, saturation, hue), one draw per image."""
    n, d = x.shape[0], x.device
    return color_jitter(x, _uniform(n, 1 - brightness, 1 + brightness, g, d),
                        _uniform(n, 1 - contrast, 1 + contrast, g, d),
                        _uniform(n, 1 - saturation, 1 + saturation, g, d), _uniform(n, -hue, hue, g, d))


# ------------------------------------------------------------------------------------------------ erasing
def random_erase(x: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    """torchvision's RandomErasing(p) per image: a rectangle of 2-33 % of the area, aspect ratio in
    [0.3, 3.3] (log-uniform), set to 0. The rectangle is clipped to the image instead of redrawn."""
    n, _, h, w = x.shape
    d = x.device
    area = _uniform(n, *ERASE_AREA, g, d) * h * w
    ratio = torch.exp(_uniform(n, math.log(ERASE_RATIO[0]), math.log(ERASE_RATIO[1]), g, d))
    eh = torch.sqrt(area * ratio).round().clamp(1, h)
    ew = torch.sqrt(area / ratio).round().clamp(1, w)
    top = (torch.rand(n, generator=g, device=d) * (h - eh + 1)).floor()
    left = (torch.rand(n, generator=g, device=d) * (w - ew + 1)).floor()
    hit = torch.rand(n, generator=g, device=d) < p
    rows = torch.arange(h, device=d).view(1, h, 1)
    cols = torch.arange(w, device=d).view(1, 1, w)
    box = ((rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1)) & (cols >= left.view(n, 1, 1))
           & (cols < (left + ew).view(n, 1, 1)) & hit.view(n, 1, 1))
    return x.masked_fill(box.unsqueeze(1), 0)


# ------------------------------------------------------------------------------------------------ policies
class Policy:
    """A torchvision.transforms.v2 policy applied batch-wise, one sampled op per slice of the batch."""

    def __init__(self, name: str) -> None:
        from torchvision.transforms import v2

        self.name = name
        self.policy = {"autoaugment": v2.AutoAugment, "randaugment": v2.RandAugment,
                       "trivialaugment": v2.TrivialAugmentWide}[name]()

    def __call__(self, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        chunks = x.tensor_split(min(POLICY_CHUNKS, len(x)))
        out = []
        for chunk in chunks:
            with torch.random.fork_rng(devices=[]):  # v2 samples its op on the CPU generator
                torch.manual_seed(int(rng.integers(2**31)))
                out.append(self.policy(chunk))
        return torch.cat(out)


# ------------------------------------------------------------------------------------------------ mixing
def mix(x: torch.Tensor, y: torch.Tensor, classes: int, mixup: float, cutmix: float,
        rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (alpha ``mixup``) or cutmix (alpha ``cutmix``) of a normalised float batch with itself rolled by
    one, as torchvision v2's MixUp/CutMix: one ratio per batch drawn from Beta(alpha, alpha); when both are on,
    each batch picks one at random. Returns the mixed batch and soft targets (rows sum to 1)."""
    target = soft_targets(y, classes)  # multi-hot (multi-label) rows as they are: mixing blends them
    use_cut = cutmix > 0 and (mixup <= 0 or rng.random() < 0.5)
    alpha = cutmix if use_cut else mixup
    if alpha <= 0:
        return x, target
    lam = float(rng.beta(alpha, alpha))
    other, other_t = x.roll(1, 0), target.roll(1, 0)
    if use_cut:
        h, w = x.shape[-2:]
        ch, cw = round(h * math.sqrt(1 - lam)), round(w * math.sqrt(1 - lam))
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch - ch // 2, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw - cw // 2, w)
        x = x.clone()
        x[..., y0:y1, x0:x1] = other[..., y0:y1, x0:x1]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / (h * w)  # the area actually pasted
    else:
        x = x * lam + other * (1 - lam)
    return x, target * lam + other_t * (1 - lam)


# ------------------------------------------------------------------------------------------------ pipeline
@dataclass(frozen=True)
class AugmentSettings:
    """The rich-augmentation knobs of a run (from TrainConfig); all zero / "none": nothing is done."""

    rotate: float = 0.0
    scale: float = 0.0
    translate: float = 0.0
    shear: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    erase: float = 0.0
    policy: str = "none"
    mixup: float = 0.0
    cutmix: float = 0.0

    @classmethod
    def of(cls, config: object) -> AugmentSettings:
        return cls(**{k: getattr(config, k) for k in cls.__dataclass_fields__})

    @property
    def mixes(self) -> bool:
        return self.mixup > 0 or self.cutmix > 0

    def describe(self) -> str:
        """The knobs that are on, in words ("rotate 15, erase 0.25, randaugment"; "" when none)."""
        on = [f"{k} {getattr(self, k):g}" for k in self.__dataclass_fields__ if k != "policy" and getattr(self, k)]
        return ", ".join(on + ([self.policy] if self.policy != "none" else []))


class Augmenter:
    """The image transforms of AugmentSettings, in order: policy, affine, colour, erasing (uint8 -> uint8).
    Mixing happens after normalisation (``mix``), on floats."""

    def __init__(self, settings: AugmentSettings, seed: int) -> None:
        self.s = settings
        self.policy = Policy(settings.policy) if settings.policy != "none" else None
        self.rng = np.random.default_rng(seed)

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        s = self.s
        if self.policy is not None:
            x = self.policy(x, self.rng)
        if s.rotate or s.scale or s.translate or s.shear:
            x = random_affine(x, s.rotate, s.scale, s.translate, s.shear, g)
        if s.brightness or s.contrast or s.saturation or s.hue:
            x = random_color_jitter(x, s.brightness, s.contrast, s.saturation, s.hue, g)
        if s.erase:
            x = random_erase(x, s.erase, g)
        return x

    def mix(self, x: torch.Tensor, y: torch.Tensor, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
        return mix(x, y, classes, self.s.mixup, self.s.cutmix, self.rng)
