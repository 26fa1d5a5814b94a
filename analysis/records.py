"""The plain records an analysis returns. The CLI table, reports, GUI and search all render these.

Receptive-field tuples are per axis, (height, width). Sizes and jumps are in input pixels; the offset is
the centre of output unit (0, 0) in input pixel coordinates (pixel i has its centre at i), so it may be
a half-integer (even kernels) or negative (padding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arch.graph import Graph, Shape

PerAxis = tuple[float, float]

# What the totals count, printed in every report header so a figure can be matched to other tools.
CONVENTION = ("MACs: multiply-accumulates of convolution, linear, matrix-product (matmul, bmm, einsum) and "
              "attention layers only, bias excluded "
              "(torchvision's GFLOPS column, fvcore's count, torch.utils.flop_counter FLOPs / 2). "
              "FLOPs: every operation, 2 x MACs plus bias adds, batch norm (2 per value), activations, "
              "pooling, residual adds and squeeze-excitation multiplies; concatenation is free.")


# What an uncounted op can make too small: every format marks these when ``Totals.lower_bound``.
LOWER_BOUND_FIGURES = ("macs", "flops", "activation_bytes_train", "peak_activation_bytes_inference",
                       "receptive_field")


@dataclass(frozen=True)
class Fix:
    """A suggested change: spec field paths and new values, applied with ``arch.paths.with_value``."""

    description: str
    edits: list[tuple[str, Any]]


@dataclass(frozen=True)
class Lint:
    """A likely design mistake in one block (``block`` is a graph block path such as ``body[4][1]``)."""

    block: str
    code: str
    message: str
    severity: str = "warning"  # "warning" or "info"
    fix: Fix | None = None


@dataclass(slots=True)
class Figures:
    """What a layer and a block both report; each record's own fields follow.

    An analysis makes a record per layer on every edit: slots and positional arguments keep that cheap
    (a keyword call costs several times a positional one)."""

    params: int
    macs: int
    flops: int
    activation_bytes: int
    rf_size: PerAxis
    rf_jump: PerAxis
    rf_offset: PerAxis
    rf_whole_input: bool

    def figures_json(self) -> dict[str, Any]:
        return {"params": self.params, "macs": self.macs, "flops": self.flops,
                "activation_bytes": self.activation_bytes, "rf_size": list(self.rf_size),
                "rf_jump": list(self.rf_jump), "rf_offset": list(self.rf_offset),
                "rf_whole_input": self.rf_whole_input}


@dataclass(slots=True)
class LayerRecord(Figures):
    """One primitive op."""

    name: str
    block: str
    type: str
    in_shape: Shape
    out_shape: Shape
    trainable_params: int = 0
    buffers: int = 0
    frozen: bool = False  # held fixed in training: by the freeze point, or (import) no parameter of it trains


@dataclass(slots=True)
class BlockRecord(Figures):
    """A spec block (a stage, one of its repeats, or a plain block) rolled up from its layers."""

    path: str
    family: str
    summary: str
    label: str
    parent: str | None
    in_shape: Shape
    out_shape: Shape
    aligned: bool = True  # False when a multi-path merge inside differs in jump or centre
    frozen: bool = False  # held fixed in training, as its layers (``LayerRecord.frozen``)


@dataclass
class Totals:
    params: int
    trainable_params: int
    frozen_params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes_train: int
    peak_activation_bytes_inference: int
    unknown_ops: list[str] = field(default_factory=list)  # "node (target)" of every op that was not counted

    @property
    def lower_bound(self) -> bool:
        """Whether an uncounted op makes MACs, FLOPs, memory and the receptive field lower bounds
        (``LOWER_BOUND_FIGURES``); parameters are exact (an unknown op's tensors are still counted)."""
        return bool(self.unknown_ops)


@dataclass(frozen=True)
class ReceptiveField:
    """The field at the last spatial layer (the last layer whose units still see part of the input)."""

    layer: str
    size: PerAxis
    jump: PerAxis
    offset: PerAxis


@dataclass
class Report:
    name: str
    input_shape: Shape
    batch: int
    dtype: str
    graph: Graph
    totals: Totals
    layers: list[LayerRecord]
    blocks: list[BlockRecord]
    receptive_field: ReceptiveField
    lints: list[Lint]
    notes: list[str] = field(default_factory=list)  # statements a reader needs (SE gates, unknown ops)
    freeze: str | None = None  # the training option freeze the trainable / frozen figures assume (body[N])

    def __post_init__(self) -> None:
        self._layers = {r.name: r for r in self.layers}
        self._blocks = {b.path: b for b in self.blocks}

    def layer(self, name: str) -> LayerRecord:
        return self._layers[name]

    def block(self, path: str) -> BlockRecord:
        return self._blocks[path]

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of issue 3 (plus a few additive keys)."""
        t = self.totals
        rf = self.receptive_field
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "dtype": self.dtype,
            "freeze": self.freeze,
            "convention": CONVENTION,
            "totals": {
                "params": t.params, "trainable_params": t.trainable_params, "frozen_params": t.frozen_params,
                "buffers": t.buffers, "macs": t.macs, "flops": t.flops,
                "activation_bytes_train": t.activation_bytes_train,
                "peak_activation_bytes_inference": t.peak_activation_bytes_inference,
                "unknown_ops": list(t.unknown_ops),
                "lower_bound": t.lower_bound,
                "lower_bound_figures": list(LOWER_BOUND_FIGURES) if t.lower_bound else [],
            },
            "receptive_field": {"layer": rf.layer, "size": list(rf.size), "jump": list(rf.jump),
                                "offset": list(rf.offset)},
            "layers": [{"name": r.name, "block": r.block, "type": r.type, "in_shape": list(r.in_shape),
                        "out_shape": list(r.out_shape), **r.figures_json(), "trainable_params": r.trainable_params,
                        "frozen": r.frozen} for r in self.layers],
            "blocks": [{"path": b.path, "family": b.family, "summary": b.summary, "label": b.label, "parent": b.parent,
                        "in_shape": list(b.in_shape), "out_shape": list(b.out_shape), **b.figures_json(),
                        "aligned": b.aligned, "frozen": b.frozen} for b in self.blocks],
            "lints": [{
                "block": lint.block, "code": lint.code, "message": lint.message, "severity": lint.severity,
                "fix": None if lint.fix is None else {
                    "description": lint.fix.description,
                    "edits": [[path, _jsonable(value)] for path, value in lint.fix.edits]},
            } for lint in self.lints],
            "notes": list(self.notes),
        }


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
