"""The columns of the per-layer and per-block tables, declared once.

Every renderer of those tables (the terminal table, CSV, Markdown and HTML reports, the comparison
report's most expensive layers, the GUI analysis table) takes its columns, headers and cell texts from
here, so a new figure is one ``Column`` entry: it then shows everywhere except where ``hide`` says.
How a value is written depends on its ``kind`` and the renderer's ``Style``: "compact" (3 significant
digits: the terminal, Markdown), "exact" (every digit: HTML, GUI) or "raw" (CSV: plain numbers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from analysis.records import BlockRecord, LayerRecord
from analysis.units import count, hw, nbytes, shape_text

Kind = Literal["name", "text", "int", "count", "bytes", "shape", "pair", "flag"]
Style = Literal["compact", "exact", "raw"]
Renderer = Literal["text", "csv", "md", "html", "compare", "gui"]
RENDERERS: tuple[Renderer, ...] = ("text", "csv", "md", "html", "compare", "gui")
NUMERIC: frozenset[Kind] = frozenset(("int", "count", "bytes"))  # right-aligned in the reports
NOT_COUNTED = "no: unknown op, totals are lower bounds"


def show(kind: Kind, value: Any, style: Style) -> str:
    """One cell's text. ``count``: MACs and FLOPs (compact: 1.23M); ``int``: always every digit."""
    if kind in NUMERIC and style == "raw":
        return str(value)
    if kind == "int" or (kind == "count" and style == "exact"):
        return f"{value:,}"
    if kind == "count":
        return count(value)
    if kind == "bytes":
        return nbytes(value)
    if kind == "shape":
        return shape_text(value)
    if kind == "pair":
        return "global" if value is None else hw(value)
    if kind == "flag":
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class Column:
    """One figure of a record: its CSV key, its header, how to read it and what kind of value it is."""

    key: str
    title: str
    get: Callable[[Any], Any]
    kind: Kind = "text"
    doc: str = ""
    hide: frozenset[Renderer] = frozenset()  # renderers that leave it out (a new column shows everywhere)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    def text(self, record: Any, style: Style) -> str:
        return show(self.kind, self.get(record), style)


def counted(layer: LayerRecord) -> bool:
    """Whether the layer's op was counted (an unknown op makes the totals lower bounds)."""
    return layer.type != "unknown"


def _hide(*renderers: Renderer) -> frozenset[Renderer]:
    return frozenset(renderers)


def _rf(name: str) -> Callable[[Any], Any]:
    """A receptive-field pair, None (shown "global") where the unit sees the whole input."""
    return lambda r: None if r.rf_whole_input else getattr(r, name)


def _without(column: Column, *renderers: Renderer) -> Column:
    """``column``, left out of ``renderers`` as well."""
    return dataclasses.replace(column, hide=column.hide | frozenset(renderers))


_SUMMARY = _hide("text", "md", "compare")  # columns the compact tables leave out
_IN = Column("in_shape", "input", lambda r: r.in_shape, "shape", "input shape (without the batch)")
_OUT = Column("out_shape", "output", lambda r: r.out_shape, "shape", "output shape (without the batch)")
_FROZEN = Column("frozen", "frozen", lambda r: r.frozen, "flag",
                 "held fixed in training: within the training option freeze (body[0] .. body[N]), or an imported "
                 "layer none of whose parameters trains; the totals count trainable and frozen parameters",
                 _hide("compare"))
_FIGURES = (  # what layers and blocks both report
    Column("params", "params", lambda r: r.params, "int", "learned parameters"),
    Column("macs", "MACs", lambda r: r.macs, "count",
           "multiply-accumulates of conv, linear, matmul and attention layers (bias excluded)"),
    Column("flops", "FLOPs", lambda r: r.flops, "count",
           "every operation (2 x MACs, bias, norm, activations, pooling)", _hide("compare")),
    Column("activation_bytes", "memory", lambda r: r.activation_bytes, "bytes",
           "memory of the output values at the analysis batch"),
    Column("rf_size", "RF", _rf("rf_size"), "pair", "theoretical receptive field (input pixels, h x w)",
           _hide("compare")),
    Column("rf_jump", "jump", lambda r: r.rf_jump, "pair", "input pixels between neighbouring output units",
           _hide("compare")),
)

LAYER_COLUMNS: tuple[Column, ...] = (
    Column("name", "layer", lambda r: r.name, "name", "module path in the built model"),
    Column("block", "block", lambda r: r.block, "name", "the spec block that made it", _SUMMARY),
    Column("type", "type", lambda r: r.type, "text", "the graph op"),
    _without(_IN, "text", "compare"),
    _OUT,
    *_FIGURES,
    Column("rf_offset", "offset", lambda r: r.rf_offset, "pair",
           "input pixel at the centre of output unit (0, 0)", _hide("text", "gui", "compare")),
    _FROZEN,
    Column("counted", "counted", lambda r: "yes" if counted(r) else NOT_COUNTED, "text",
           "whether the op could be counted", _hide("text", "md", "html", "gui", "compare")),
)

_BLOCK_HIDE: dict[str, tuple[Renderer, ...]] = {  # what the block tables of the reports leave out
    "flops": ("md", "html"), "activation_bytes": ("md", "html"), "rf_jump": ("md",)}
BLOCK_COLUMNS: tuple[Column, ...] = (
    Column("path", "block", lambda b: b.path, "name", "spec path"),
    Column("family", "family", lambda b: b.family, "text", "the block family", _hide("md", "html")),
    Column("summary", "summary", lambda b: b.summary, "text", "the block's settings in short"),
    _without(_IN, "md", "html"),
    _OUT,
    *(_without(c, *_BLOCK_HIDE.get(c.key, ())) for c in _FIGURES),
    Column("aligned", "aligned", lambda b: b.aligned, "flag",
           "whether the paths of every merge inside agree in jump and centre", _hide("gui")),
    _without(_FROZEN, "md"),
)


def shown(columns: Sequence[Column], renderer: Renderer) -> tuple[Column, ...]:
    """The columns one renderer shows, in declaration order."""
    return tuple(c for c in columns if renderer not in c.hide)


def rows(records: Sequence[LayerRecord] | Sequence[BlockRecord], columns: Sequence[Column],
         style: Style) -> list[list[str]]:
    """Every record's cells under ``columns``."""
    return [[c.text(r, style) for c in columns] for r in records]


def numeric(columns: Sequence[Column]) -> set[int]:
    """Indices of the right-aligned (numeric) columns."""
    return {i for i, c in enumerate(columns) if c.numeric}
