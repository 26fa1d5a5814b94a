"""What a model has learned at one layer, computed in one place for the training loop's snapshots, the
app's live and after-run views, and ``convsmith train filters``: the first conv layer's filters, the
layer's filters, its feature maps for one image, and its effective receptive field.

A part that does not apply (a pooling layer has no filters, a flat layer no maps or ERF) is left out and
said in ``problems``; a layer the model does not have is a problem too, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from training.errors import ConfigError
from training.images import hot
from training.visualize import (
    ERF,
    FilterGrid,
    conv_layers,
    effective_rf,
    feature_grid,
    feature_maps,
    filter_grid,
    get_layer,
)


@dataclass
class Snapshot:
    layer: str
    step: int = 0
    epoch: int = 0
    sample: int = 0                      # the image of ``maps`` (an index into the images given)
    first: FilterGrid | None = None      # filters of the model's first conv layer
    filters: FilterGrid | None = None    # filters of ``layer`` (None: not a convolution)
    maps: np.ndarray | None = None       # the layer's output for image ``sample``: (C, H, W), or (C,) when flat
    features: np.ndarray | None = None   # ``maps`` tiled (H, W) in [0, 1], for drawing
    erf: ERF | None = None
    erf_rgb: np.ndarray | None = None    # ``erf.map`` in the heat colour map, for drawing
    problems: list[str] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return 0 if self.maps is None else int(self.maps.shape[0])


def snapshot(model: nn.Module, layer: str | None, images: torch.Tensor | None = None, sample: int = 0,
             erf_images: int | None = None, step: int = 0, epoch: int = 0) -> Snapshot:
    """The :class:`Snapshot` of ``layer`` (None: the first conv layer; "": only the first layer's filters).

    ``images``: normalised (N, C, H, W) on the model's device; without them there are no maps and no ERF.
    ``erf_images``: how many of them the ERF averages (None: all; 0: no ERF).
    """
    convs = conv_layers(model)
    name = convs[0] if layer is None and convs else (layer or "")
    out = Snapshot(name, step, epoch, sample)
    if convs:
        out.first = filter_grid(model, convs[0])
    if not name:
        if layer is None:
            out.problems.append("the model has no conv layer")
        return out
    try:
        module = get_layer(model, name)
        if isinstance(module, nn.Conv2d):
            out.filters = out.first if name == convs[0] else filter_grid(model, name)
        if images is None or len(images) == 0:
            return out
        out.sample = min(sample, len(images) - 1)
        out.maps = feature_maps(model, name, images[out.sample])
        if out.maps.ndim != 3:
            out.problems.append(f"{name} has a flat output ({out.maps.shape[0]} values): no maps, no receptive field")
            return out
        out.features = feature_grid(out.maps)
        if erf_images != 0:
            out.erf = effective_rf(model, name, images if erf_images is None else images[:erf_images])
            out.erf_rgb = hot(out.erf.map)
    except ConfigError as e:
        out.problems.append(str(e))
    return out
