"""EfficientNet compound scaling: one knob phi sets depth, width and input resolution together.

Tan and Le (2019) scale depth by alpha^phi, width by beta^phi and resolution by gamma^phi (alpha 1.2, beta
1.1, gamma 1.15); the released B1-B7 use per-model coefficients instead, which torchvision tabulates and
which ``PUBLISHED`` copies (width, depth, resolution, classifier dropout). An integer phi in 0..7 gives
those exactly; any other phi the formula. Channels round as torchvision's ``_make_divisible`` (the spec's
``width_mult``), stage repeats as ``ceil(repeat * depth_mult)`` (the spec's ``depth_mult``).
"""

from __future__ import annotations

import dataclasses

from arch.errors import ConvSmithError
from arch.spec import BlockSpec, Spec

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
PUBLISHED: dict[int, tuple[float, float, int, float]] = {  # torchvision efficientnet_b0 ... b7
    0: (1.0, 1.0, 224, 0.2), 1: (1.0, 1.1, 240, 0.2), 2: (1.1, 1.2, 288, 0.3), 3: (1.2, 1.4, 300, 0.3),
    4: (1.4, 1.8, 380, 0.4), 5: (1.6, 2.2, 456, 0.4), 6: (1.8, 2.6, 528, 0.5), 7: (2.0, 3.1, 600, 0.5),
}


def coefficients(phi: float, base: int = 224) -> tuple[float, float, int, float | None]:
    """(width, depth, resolution, dropout or None) for ``phi``."""
    if phi < 0 or phi > 12:
        raise ConvSmithError(f"phi must be in [0, 12] (got {phi:g})")
    if float(phi).is_integer() and int(phi) in PUBLISHED and base == 224:
        return PUBLISHED[int(phi)]
    return (round(BETA ** phi, 4), round(ALPHA ** phi, 4), int(round(base * GAMMA ** phi)), None)


def compound(spec: Spec, phi: float) -> Spec:
    """``spec`` (an EfficientNet-like B0: its width_mult and depth_mult 1) scaled by ``phi``."""
    if spec.width_mult != 1.0 or spec.depth_mult != 1.0:
        raise ConvSmithError("compound scaling starts from an unscaled network (width_mult and depth_mult 1)")
    width, depth, res, dropout = coefficients(phi, spec.input[1])
    body = [BlockSpec(b.block, {**b.params, "dropout": dropout}, b.label) if b.block == "classifier"
            and dropout is not None else b for b in spec.body]
    name = spec.name.replace("-B0", f"-B{int(phi)}") if float(phi).is_integer() else f"{spec.name} phi {phi:g}"
    return dataclasses.replace(spec, name=name, width_mult=width, depth_mult=depth,
                               input=(spec.input[0], res, res), body=body)
