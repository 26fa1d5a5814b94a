"""The interpretation methods as one table: the CLI's ``--method`` choices and help, the app's method
chooser and which pickers (layer, channel, class, image) each method uses all come from ``METHODS``.
Plain dataclasses (no torch), so ``convsmith --help`` stays instant."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    help: str
    layer: bool = False      # uses a spatial layer
    channel: bool = False    # uses a channel of that layer
    target: bool = False     # uses a class
    image: bool = False      # uses one image (a validation index or a file)
    dataset: bool = False    # reads the whole validation split (shows progress)
    batched: bool = False    # many images per forward pass: uses every intra-op thread (one image runs faster
    #                          on one thread: no thread start-up or contention per tiny op)


METHODS = {m.name: m for m in (
    Method("topk", "Top-k patches", "the validation images whose strongest unit of the channel is largest, each "
           "cropped to that unit's theoretical receptive field", layer=True, channel=True, dataset=True, batched=True),
    Method("deconv", "Deconvnet", "Zeiler-Fergus deconvnet projection of the channel's strongest unit to pixels",
           layer=True, channel=True, image=True),
    Method("guided", "Guided backprop", "guided backpropagation of the channel's strongest unit to pixels",
           layer=True, channel=True, image=True),
    Method("occlusion", "Occlusion", "drop in the class's probability as a grey patch covers each place "
           "(class: the image's label)", target=True, image=True, batched=True),
    Method("gradcam", "Grad-CAM", "Grad-CAM and guided Grad-CAM of the class at the layer (class: the predicted "
           "one; layer: the last spatial one)", layer=True, target=True, image=True),
    Method("maximize", "Activation maximisation", "an input optimised from noise to excite the channel (or the "
           "class, when one is given)", layer=True, channel=True, target=True),
    Method("probs", "Probabilities", "softmax probabilities of the image, top 5", image=True),
    Method("misclassified", "Misclassified", "misclassified validation images, by true class (--class) and "
           "predicted class (--predicted), most confident first", target=True, dataset=True, batched=True),
    Method("histograms", "Histograms", "weight and gradient histograms of the layer over epochs, and the "
           "gradient norm of every layer (recorded during training)", layer=True),
)}


@dataclass
class Request:
    method: str
    layer: str | None = None
    channel: int = 0
    target: int | None = None
    predicted: int | None = None
    index: int = 0
    image: str | None = None       # an image file instead of a validation image
    k: int = 9
    steps: int = 128
    size: int | None = None        # occlusion patch
    stride: int | None = None

    def slug(self) -> str:
        """A file name for this request's picture (no path separators, whatever the inputs)."""
        m = METHODS[self.method]
        parts = [self.method]
        if m.layer and self.layer and not (self.method == "maximize" and self.target is not None):
            parts.append(self.layer)
        if m.channel and not (self.method == "maximize" and self.target is not None):
            parts.append(f"c{self.channel}")
        if m.target and self.target is not None:
            parts.append(f"class{self.target}")
        if self.method == "misclassified" and self.predicted is not None:
            parts.append(f"pred{self.predicted}")
        if m.image:
            parts.append(f"file-{Path(self.image).stem}" if self.image else f"i{self.index}")
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in "-".join(parts))
