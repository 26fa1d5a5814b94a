"""Training options, declared once: this dataclass is the table. ``TrainConfig.problems`` (validation), the
flags of ``convsmith train``, the Training tab's form, the search's ``train.*`` knobs and base ``--train``
options are all derived from it (``arch.options``); adding an option is one entry here.

It lives in ``arch`` because a spec's ``search`` section names these options (``"train.lr": {...}``) and
arch validates specs; ``training.config`` is where the training code takes it from. Pure data, no torch.

Ranges, reconciled from the copies that disagreed before: lr in [1e-9, 10], weight_decay in [0, 1], epochs
in [1, 10000], label_smoothing in [0, 0.5], crop in [0, 64], batch sizes in [1, 65536], seed in
[0, 2^31 - 1] (what a spin box and NumPy-seeded samplers hold); ``mps`` is a device for training and search.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from arch.options import ConfigError, no_effect, option, problems_of

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
LOSSES = ("auto", "ce", "bce", "mse")
POLICIES = ("none", "autoaugment", "randaugment", "trivialaugment")
MONITORS = ("val_acc", "val_loss", "val_top5", "val_f1", "val_map")
MAX_BATCH = 65536
SGD = ("optimizer", ("sgd",))  # options that act only with SGD (the GUI greys them otherwise)


@dataclass
class TrainConfig:
    """Every option of a training run. Defaults: the recipe that takes LeNet-5 to ~98 % on MNIST's
    8k/2k split in 8 epochs (AdamW 3e-3, one-cycle, batch 128, label smoothing 0.1)."""

    optimizer: str = option("choice", "adamw", "optimizer", choices=OPTIMIZERS, searchable=True)
    lr: float = option("float", 3e-3, "peak learning rate", min=1e-9, max=10.0, metavar="X", searchable=True)
    epochs: int = option("int", 8, "passes over the training split", min=1, max=10_000, metavar="N",
                         searchable=True)
    batch_size: int = option("int", 128, "images per step", min=1, max=MAX_BATCH, flag="--batch", metavar="N",
                             searchable=True)
    schedule: str = option("choice", "onecycle", "learning-rate schedule", choices=SCHEDULES, searchable=True)
    weight_decay: float = option("float", 5e-4, "weight decay on weights, not biases or norms", min=0.0, max=1.0,
                                 metavar="X", searchable=True)
    momentum: float = option("float", 0.9, "SGD momentum", min=0.0, max=0.999, metavar="X", when=SGD,
                             searchable=True)
    label_smoothing: float = option("float", 0.1, "label smoothing of the cross-entropy loss", min=0.0, max=0.5,
                                    metavar="X", searchable=True, when=("loss", ("auto", "ce")))
    loss: str = option("choice", "auto", "training loss: auto (follows the data: bce for multi-label data, ce "
                       "otherwise), ce (cross-entropy), bce (binary cross-entropy with logits, one sigmoid per class; "
                       "the only loss multi-label data takes), mse (mean squared error of the softmax against "
                       "one-hot targets)", choices=LOSSES, searchable=True)
    crop: int | None = option("int", None, "augmentation: random-crop padding in pixels (auto: 1/8 of the side "
                              "for natural images, 0 for digits; 0: no crop)", min=0, max=64, nullable=True,
                              none="auto", metavar="PX", searchable=True)
    flip: bool | None = option("bool", None, "augmentation: random horizontal flip (auto: on for natural images, "
                               "off for digits)", nullable=True, none="auto", searchable=True)
    rotate: float = option("float", 0.0, "augmentation: random rotation up to +-X degrees", min=0.0, max=180.0,
                           metavar="DEG", searchable=True)
    scale: float = option("float", 0.0, "augmentation: random zoom by a factor in [1-X, 1+X]", min=0.0, max=0.9,
                          metavar="X", searchable=True)
    translate: float = option("float", 0.0, "augmentation: random shift up to +-X of the width and height",
                              min=0.0, max=0.5, metavar="X", searchable=True)
    shear: float = option("float", 0.0, "augmentation: random shear up to +-X degrees", min=0.0, max=45.0,
                          metavar="DEG", searchable=True)
    brightness: float = option("float", 0.0, "augmentation: random brightness factor in [1-X, 1+X]", min=0.0,
                               max=1.0, metavar="X", searchable=True)
    contrast: float = option("float", 0.0, "augmentation: random contrast factor in [1-X, 1+X]", min=0.0, max=1.0,
                             metavar="X", searchable=True)
    saturation: float = option("float", 0.0, "augmentation: random saturation factor in [1-X, 1+X] (colour "
                               "images; grey ones are left as they are)", min=0.0, max=1.0, metavar="X",
                               searchable=True)
    hue: float = option("float", 0.0, "augmentation: random hue turn up to +-X of a full turn (colour images)",
                        min=0.0, max=0.5, metavar="X", searchable=True)
    erase: float = option("float", 0.0, "augmentation: probability of erasing a random rectangle (2-33 % of "
                          "the image) per image", min=0.0, max=1.0, metavar="P", searchable=True)
    policy: str = option("choice", "none", "augmentation policy of torchvision.transforms.v2 (each slice of a "
                         "batch gets its own sampled op)", choices=POLICIES, searchable=True)
    mixup: float = option("float", 0.0, "mixup: Beta(X, X) mixing of image pairs and their targets (0: off)",
                          min=0.0, max=10.0, metavar="ALPHA", searchable=True)
    cutmix: float = option("float", 0.0, "cutmix: Beta(X, X) pasting of a box from another image, targets by "
                           "area (0: off; with mixup, each batch picks one)", min=0.0, max=10.0, metavar="ALPHA",
                           searchable=True)
    monitor: str = option("choice", "val_acc", "validation metric that picks the best checkpoint and drives early "
                          "stopping (val_top5: top-5 accuracy, classes > 5; val_f1, val_map: mean F1 and mean "
                          "average precision, multi-label data)", choices=MONITORS)
    patience: int | None = option("int", None, "early stopping: stop after N epochs without the monitored metric "
                                  "improving by more than min-delta", min=1, max=10_000, nullable=True, none="off",
                                  metavar="N")
    min_delta: float = option("float", 0.0, "early stopping: the least change of the monitored metric that counts "
                              "as an improvement", min=0.0, max=1e9, metavar="X")
    pretrained: str | None = option("text", None, "start from torchvision weights: a state_dict file, or a weights "
                                    "name such as ResNet18_Weights.IMAGENET1K_V1 (torch's hub cache, else a "
                                    "download when online, or from CONVSMITH_WEIGHTS_MIRROR); the head is "
                                    "replaced for the data's classes",
                                    nullable=True, also="a file or a torchvision weights name", metavar="WEIGHTS",
                                    more=True)
    freeze: str | None = option("text", None, "freeze the parameters of the blocks up to and including this one",
                                nullable=True, pattern=r"body\[\d+\]", also="body[N]", metavar="BLOCK", more=True)
    pretrained_lr: float | None = option("float", None, "learning rate of the loaded (pretrained) tensors as a "
                                         "fraction of lr (none: the same lr)", min=0.0, max=1.0, nullable=True,
                                         metavar="F", more=True)
    partial_init: bool = option("bool", False, "with --init-from or --pretrained: load the tensors whose names and "
                                "shapes match and report the others by name (otherwise all must match)", more=True)
    device: str = option("choice", "auto", "device (auto: cuda, then mps, then cpu)", choices=DEVICES,
                         pattern=r"cuda:\d+", also="cuda:N")
    seed: int = option("int", 0, "seed of the initial weights, shuffling and augmentation", min=0, max=2**31 - 1,
                       metavar="N")
    threads: int | None = option("int", None, "CPU threads for this run (restored afterwards)", min=1, max=1024,
                                 nullable=True, none="torch's", metavar="N")
    time_budget: float | None = option("float", None, "seconds of training (evaluation excluded) after which the "
                                       "run stops, evaluates and ends", min=0.01, max=1e9, nullable=True,
                                       metavar="S")
    nesterov: bool = option("bool", False, "Nesterov momentum (SGD, momentum > 0)", when=SGD, more=True)
    warmup: float | None = option("float", None, "fraction of training rising to lr (auto: 0.25 for onecycle, "
                                  "0 otherwise)", min=0.0, max=0.9, nullable=True, none="auto", metavar="F",
                                  more=True)
    grad_clip: float | None = option("float", None, "clip the global gradient norm to this", min=1e-6, max=1e6,
                                     nullable=True, metavar="X", more=True)
    deterministic: bool = option("bool", False, "deterministic kernels where torch has them (slower on CUDA; "
                                 "warns on others)", more=True)
    amp: bool | None = option("bool", None, "mixed precision (auto: on for CUDA, bf16 where supported, else fp16)",
                              nullable=True, none="auto", more=True)
    channels_last: bool | None = option("bool", None, "NHWC memory format (auto: on for CUDA)", nullable=True,
                                        none="auto", more=True)
    eval_batch_size: int = option("int", 1024, "images per evaluation step", min=1, max=MAX_BATCH, metavar="N",
                                  more=True)
    log_every: int = option("int", 10, "steps between progress records (each reads the loss back: a sync)", min=1,
                            max=1_000_000, metavar="N", more=True)
    snapshot_every: float | None = option("float", None, "seconds between snapshots of what a layer learned "
                                          "(filters, feature maps, effective receptive field)", min=0.0, max=1e9,
                                          nullable=True, metavar="S", more=True)
    snapshot_layer: str | None = option("text", None, "conv layer to snapshot, e.g. body.0.conv", nullable=True,
                                        none="first", also="a layer name", metavar="NAME", more=True)
    histograms: bool = option("bool", True, "record each layer's weight and gradient histograms and norms at the "
                              "end of every epoch (histograms.json in the run directory)", more=True)

    def no_effect(self, name: str) -> str | None:
        """Why option ``name`` changes nothing with the other options as they are (its ``when``), or None."""
        return no_effect(self, name)

    def problems(self) -> list[str]:
        """Every invalid option, as 'name: why' (empty when the config is usable)."""
        out = problems_of(self)
        if self.nesterov is True and (self.optimizer != "sgd" or not (isinstance(self.momentum, (int, float))
                                                                       and self.momentum > 0)):
            out.append("nesterov: needs optimizer sgd with momentum > 0")
        return out

    def check(self) -> TrainConfig:
        bad = self.problems()
        if bad:
            raise ConfigError("invalid training options: " + "; ".join(bad))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
