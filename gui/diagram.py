"""The network diagram: a box per block, the branches of multi-path blocks inside it, stages framed
around their repeats and the tensor shape on every edge. Wheel zooms, dragging pans, a click selects.

Each block is one item that paints a precomputed sketch; sketches are cached by what they show, so
an edit re-lays out only the blocks it changed and the redraw stays within a frame.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from PyQt6.QtCore import QLineF, QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QPolygonF
from PyQt6.QtSvg import QSvgGenerator
from PyQt6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from arch import io, paths
from arch.graph import fmt_shape
from arch.op_table import OPS
from arch.registry import family
from gui.branches import Column, Merge, Run
from gui.editor import summary_of
from gui.evaluation import Evaluation
from gui.session import Hub

FILL = {"layers": "#e8f0fe", "pooling": "#e6f4ea", "blocks": "#fef7e0", "head": "#fce8e6", "structure": "#f4f5f7"}
INK, MUTED, ACCENT, ERROR = QColor("#202124"), QColor("#6b7280"), QColor("#1a73e8"), QColor("#c5221f")
BORDER = QColor("#9aa0a6")
MIN_W, PAD, GAP, EDGE = 220.0, 8.0, 12.0, 34.0
LABEL_W = 160.0  # room right of a wire for its shape label
RUNS_KEPT = 4096  # run sketches remembered (a few kilobytes each)
EMPTY_HINT = ("This network is empty. Double-click a block in the palette (or drag it here), or start from a "
              "template: File > New from template.")
CENTER = Qt.AlignmentFlag.AlignCenter.value
LEFT = (Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter).value
WRAP = Qt.AlignmentFlag.AlignLeft.value | Qt.TextFlag.TextWordWrap.value


@dataclass
class Sketch:
    """Drawing commands relative to the sketch's own top-left corner."""

    width: float
    height: float
    ops: list[tuple[Any, ...]] = field(default_factory=list)

    def place(self, dx: float, dy: float) -> list[tuple[Any, ...]]:
        """The ops moved by (dx, dy)."""
        out = []
        for op in self.ops:
            kind = op[0]
            if kind in ("rect", "text"):
                out.append((kind, op[1].translated(dx, dy), *op[2:]))
            elif kind == "line":
                out.append((kind, op[1].translated(QPointF(dx, dy)), *op[2:]))
            else:  # circle
                out.append((kind, op[1] + QPointF(dx, dy), *op[2:]))
        return out


class Sketcher:
    """Lays out block contents with the diagram's fonts."""

    def __init__(self) -> None:
        self.font = QFont()
        self.font.setPointSizeF(9.0)
        self.bold = QFont(self.font)
        self.bold.setBold(True)
        self.mono = QFont("monospace")
        self.mono.setStyleHint(QFont.StyleHint.Monospace)
        self.mono.setPointSizeF(8.0)
        self.metrics = {id(f): QFontMetricsF(f) for f in (self.font, self.bold, self.mono)}
        self.line = self.metrics[id(self.font)].height()
        # a run's sketch by its lines: an edit re-sketches the blocks it changed, whose runs mostly stay the
        # same (sketches are never changed once made: placing one copies its ops)
        self._runs: dict[tuple[str, ...], Sketch] = {}

    def width(self, font: QFont, text: str) -> float:
        return self.metrics[id(font)].horizontalAdvance(text)

    # ------------------------------------------------------------ structure
    def run(self, run: Run) -> Sketch:
        lines = tuple(run.lines())
        found = self._runs.get(lines)
        if found is not None:
            return found
        w = max(self.width(self.font, t) for t in lines) + 2 * PAD
        h = len(lines) * self.line + PAD
        ops: list[tuple[Any, ...]] = [("rect", QRectF(0, 0, w, h), QColor("#ffffff"), BORDER, 4.0)]
        for k, text in enumerate(lines):
            ops.append(("text", QRectF(PAD, PAD / 2 + k * self.line, w - 2 * PAD, self.line), text, self.font, INK,
                        CENTER))
        if len(self._runs) >= RUNS_KEPT:
            self._runs.clear()
        sketch = self._runs[lines] = Sketch(w, h, ops)
        return sketch

    def column(self, items: Column) -> Sketch:
        parts = [self.run(i) if isinstance(i, Run) else self.merge(i) for i in items]
        if not parts:
            return Sketch(0, 0)
        w = max(p.width for p in parts)
        ops: list[tuple[Any, ...]] = []
        y = 0.0
        for k, p in enumerate(parts):
            if k:
                ops.append(("line", QLineF(w / 2, y - GAP, w / 2, y), BORDER))
            ops += p.place((w - p.width) / 2, y)
            y += p.height + GAP
        return Sketch(w, y - GAP, ops)

    def merge(self, merge: Merge) -> Sketch:
        branches = [self.column(b) for b in merge.branches]
        skip = self.width(self.mono, "identity") + PAD
        widths = [b.width if b.ops else skip for b in branches]
        w = sum(widths) + GAP * (len(widths) - 1)
        top, area = GAP, max(b.height for b in branches)
        radius = 9.0
        join = QPointF(w / 2, top + area + GAP + radius)
        ops: list[tuple[Any, ...]] = []
        x = 0.0
        for b, bw in zip(branches, widths):
            cx = x + bw / 2
            if b.ops:
                ops.append(("line", QLineF(w / 2, 0, cx, top), BORDER))
                ops += b.place(x + (bw - b.width) / 2, top)
                ops.append(("line", QLineF(cx, top + b.height, join.x(), join.y() - radius), BORDER))
            else:  # identity: a skip line straight past the other branches
                ops.append(("line", QLineF(w / 2, 0, cx, top), BORDER))
                ops.append(("line", QLineF(cx, top, cx, top + area), BORDER))
                ops.append(("text", QRectF(x, top + area / 2 - self.line / 2, bw, self.line), "identity",
                            self.mono, MUTED, CENTER))
                ops.append(("line", QLineF(cx, top + area, join.x(), join.y() - radius), BORDER))
            x += bw + GAP
        symbol = OPS[merge.node.op].symbol  # the op table's; others (concat, max): a labelled bar
        if symbol:
            ops.append(("circle", join, radius, symbol))
            height = join.y() + radius
        else:  # concat: a labelled bar
            label_w = self.width(self.font, merge.node.op) + 2 * PAD
            ops.append(("rect", QRectF(w / 2 - label_w / 2, join.y() - radius, label_w, 2 * radius),
                        QColor("#eef2f7"), BORDER, 9.0))
            ops.append(("text", QRectF(w / 2 - label_w / 2, join.y() - radius, label_w, 2 * radius), merge.node.op,
                        self.font, INK, CENTER))
            height = join.y() + radius
        return Sketch(w, height, ops)

    # ---------------------------------------------------------------- boxes
    def block(self, path: str, fam_name: str, summary: str, label: str, structure: Column | None,
              error: str, reached: bool) -> Sketch:
        """A block's box: path and family, its summary, its branches, and its problem if any."""
        fam = family(fam_name)
        head = f"{path}  {fam.title}" + (f" — {label}" if label else "")
        inner = self.column(structure) if structure else None
        w = max(MIN_W, self.width(self.mono, head) + 2 * PAD, self.width(self.bold, summary) + 2 * PAD,
                (inner.width + 2 * PAD) if inner else 0.0)
        y = PAD / 2
        ops: list[tuple[Any, ...]] = []
        texts = [("text", QRectF(PAD, y, w - 2 * PAD, self.line), head, self.mono, MUTED,
                  LEFT)]
        y += self.line
        texts.append(("text", QRectF(PAD, y, w - 2 * PAD, self.line), summary, self.bold, INK if reached else MUTED,
                      LEFT))
        y += self.line + PAD / 2
        if inner is not None:
            y += PAD
            texts += inner.place((w - inner.width) / 2, y)
            y += inner.height + PAD
        if error:
            rect = self.metrics[id(self.font)].boundingRect(QRectF(0, 0, w - 2 * PAD, 1000),
                                                             WRAP, error)
            texts.append(("text", QRectF(PAD, y, w - 2 * PAD, rect.height()), error, self.font, ERROR,
                          WRAP))
            y += rect.height() + PAD / 2
        border = ERROR if error else (BORDER if reached else MUTED)
        fill = QColor(FILL[fam.category]) if reached else QColor("#fafafa")
        ops.append(("rect", QRectF(0, 0, w, y), fill, border, 6.0, not reached and not error))
        return Sketch(w, y, ops + texts)

    def frame(self, path: str, summary: str, width: float, height: float) -> Sketch:
        text = f"{path}  {summary}"
        return Sketch(width, height, [
            ("rect", QRectF(0, 0, width, height), QColor(FILL["structure"]), BORDER, 10.0, True),
            ("text", QRectF(PAD, PAD / 2, width - 2 * PAD, self.line), text, self.mono, MUTED,
             LEFT)])


def paint_ops(painter: QPainter, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        kind = op[0]
        if kind == "rect":
            dashed = len(op) > 5 and op[5]
            pen = QPen(op[3], 1.0, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            painter.setBrush(QBrush(op[2]))
            painter.drawRoundedRect(op[1], op[4], op[4])
        elif kind == "text":
            painter.setFont(op[3])
            painter.setPen(op[4])
            painter.drawText(op[1], op[5], op[2])
        elif kind == "line":
            painter.setPen(QPen(op[2], 1.2))
            painter.drawLine(op[1])
        else:
            painter.setPen(QPen(BORDER, 1.2))
            painter.setBrush(QBrush(QColor("#ffffff")))
            painter.drawEllipse(op[1], op[2], op[2])
            painter.setPen(INK)
            painter.drawText(QRectF(op[1].x() - op[2], op[1].y() - op[2], 2 * op[2], 2 * op[2]),
                             int(CENTER), op[3])


class Glyph(QGraphicsItem):
    """A block (or a stage's frame) drawn from its sketch; ``path`` says what a click selects."""

    def __init__(self, path: str, sketch: Sketch) -> None:
        super().__init__()
        self.path, self.sketch = path, sketch
        self.selected = False
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # the view pans and selects

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF(-2, -2, self.sketch.width + 4, self.sketch.height + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        paint_ops(painter, self.sketch.ops)
        if self.selected:
            painter.setPen(QPen(ACCENT, 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(0, 0, self.sketch.width, self.sketch.height), 6, 6)

    def set_selected(self, on: bool) -> None:
        if on != self.selected:
            self.selected = on
            self.update()


class Wires(QGraphicsItem):
    """Every edge between blocks with its tensor shape, drawn by one item."""

    def __init__(self, sketcher: Sketcher) -> None:
        super().__init__()
        self.sketcher = sketcher
        self.edges: list[tuple[QLineF, str]] = []
        self._bounds = QRectF()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # paint gets exposedRect
        self.setZValue(-1)

    def set_edges(self, edges: list[tuple[QLineF, str]]) -> None:
        if edges == self.edges:
            return  # unchanged wires: no repaint of the whole diagram
        if len(edges) == len(self.edges) and all(a[0] == b[0] for a, b in zip(edges, self.edges)):
            for (line, text), (_, before) in zip(edges, self.edges):  # same wires, new shapes on some
                if text != before:
                    self.update(QRectF(line.p1(), line.p2()).normalized().adjusted(-6, 0, LABEL_W, 0))
            self.edges = edges
            return
        self.prepareGeometryChange()
        self.edges = edges
        bounds = QRectF()
        for line, _ in edges:
            bounds = bounds.united(QRectF(line.p1(), line.p2()).normalized().adjusted(-6, -6, LABEL_W, 6))
        self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setFont(self.sketcher.mono)
        exposed = option.exposedRect.adjusted(-LABEL_W, -10, 10, 10)  # labels sit right of the line
        for line, text in self.edges:
            if not exposed.intersects(QRectF(line.p1(), line.p2()).normalized().adjusted(-5, 0, 5, 0)):
                continue
            painter.setPen(QPen(MUTED, 1.4))
            painter.drawLine(line)
            tip = line.p2()
            painter.setBrush(QBrush(MUTED))
            painter.drawPolygon(QPolygonF([tip, tip + QPointF(-4, -7), tip + QPointF(4, -7)]))
            if text:
                painter.setPen(MUTED)
                painter.drawText(QPointF(line.p1().x() + 8, (line.p1().y() + line.p2().y()) / 2 + 4), text)


class Laid(NamedTuple):
    """How a layout placed a top-level block (not a stage): the next layout takes it as it is when the block
    is the same spec object expanded to the same info object (an edit elsewhere, arch/expand.py), starts at the
    same height with the same shape entering it and has the same problem."""

    bs: Any
    info: Any
    error: str
    top: float
    entering: str  # the shape on the wire into it
    edge: tuple[QLineF, str]
    key: tuple[Any, ...]  # its glyph's cache key
    glyph: Glyph
    shapes: tuple[Any, tuple[Any, ...], Any] | None  # its multi-path entry in ``_shapes``
    bottom: float
    leaving: str  # the shape on the wire out of it


class DiagramView(QGraphicsView):
    """The diagram of the hub's current network."""

    def __init__(self, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.setScene(QGraphicsScene(self))
        # a few hundred items, re-placed on every edit: a BSP index costs more than it saves
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(QBrush(QColor("#ffffff")))
        self.sketcher = Sketcher()
        self.wires = Wires(self.sketcher)
        self.scene().addItem(self.wires)
        self.hint = self.scene().addText(EMPTY_HINT, self.sketcher.font)  # an empty network says what to do next
        self.hint.setDefaultTextColor(MUTED)
        self.hint.setTextWidth(2 * MIN_W)
        option = self.hint.document().defaultTextOption()
        option.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.document().setDefaultTextOption(option)
        self.hint.hide()
        self.glyphs: dict[str, Glyph] = {}
        self._cache: dict[tuple[Any, ...], Glyph] = {}
        self._next: dict[tuple[Any, ...], Glyph] = {}
        # per multi-path block: (its expanded info, the ops and nested blocks that decide its glyph, the info
        # to draw): an edit re-expands a few blocks, and the others keep their info objects
        self._shapes: dict[str, tuple[Any, tuple[Any, ...], Any]] = {}
        self._next_shapes: dict[str, tuple[Any, tuple[Any, ...], Any]] = {}
        self._laid: list[Laid | None] = []  # per top-level block: how the last layout placed it
        self._press: QPointF | None = None
        self._fitted_for: object = None
        hub.evaluated.connect(self.show_evaluation)
        hub.selected.connect(self.show_selection)
        hub.session_changed.connect(lambda _s: setattr(self, "_fitted_for", None))

    # ---------------------------------------------------------------- build
    def _glyph(self, key: tuple[Any, ...], path: str, make: Any) -> Glyph:
        glyph = self._cache.get(key)
        if glyph is None:
            glyph = Glyph(path, make())
            self.scene().addItem(glyph)
        self._next[key] = glyph
        return glyph

    def _leaf(self, ev: Evaluation, path: str, fam_name: str, summary: str, label: str, errors: dict[str, str],
              reached: bool) -> tuple[Glyph, tuple[Any, ...]]:
        """A block's glyph and its cache key."""
        info = ev.info(path)
        branched = reached and info is not None and family(fam_name).multipath
        shape_key: tuple[Any, ...] = ()
        if branched and info is not None:
            seen = self._shapes.get(path)
            if seen is not None and seen[0] is info:  # a block expanded before is the same object (arch/expand.py)
                shape_key, info = seen[1], seen[2]
            else:
                original, nested = info, ()
                if family(fam_name).composite:  # a branch: the ops of its paths' blocks too, side by side
                    names, inner = ev.walker.subtree(info)
                    nested = tuple((b.path, b.summary) for b in inner)
                    info = dataclasses.replace(info, nodes=names)
                shape_key = (tuple(ev.graph.node(n).op for n in info.nodes), nested)
                seen = (original, shape_key, info)
            self._next_shapes[path] = seen
        error = errors.get(path, "")
        key = ("block", path, fam_name, summary, label, shape_key, error, reached)
        drawn = info
        # the branches are walked only for a glyph that is not cached (most are, after an edit)
        return self._glyph(key, path, lambda: self.sketcher.block(
            path, fam_name, summary, label, ev.walker.structure(drawn) if branched and drawn is not None else None,
            error, reached)), key

    def show_evaluation(self, ev: Evaluation) -> None:
        """Re-lay the diagram: reuse unchanged glyphs, move them, redraw the wires.

        When the layout's extent changes (a block added, removed or wrapped), the whole viewport is repainted
        once: the view's smart update repaints only dirty item rects, and a box removed while the scene
        rect and the scroll position change in the same pass could stay painted (after Apply fix -> Undo
        -> Wrap). A field edit that keeps the extent repaints only what changed.
        """
        extent = self.scene().sceneRect()
        self._next, self._next_shapes = {}, {}
        laid: list[Laid | None] = []
        errors = {p.path: p.message for p in ev.problems}
        children: dict[str, list[Any]] | None = None  # a stage's repeats, gathered at the first stage
        edges: list[tuple[QLineF, str]] = []
        self.glyphs = {}
        text = f"input {fmt_shape(ev.graph.input_shape)}"
        start = self._glyph(("input", text), "", lambda: self._pill(text))
        start.setPos(-start.sketch.width / 2, 0)
        y = start.sketch.height
        shape = fmt_shape(ev.graph.input_shape)
        before = self._laid
        for i, bs in enumerate(ev.spec.body):
            path = paths.body(i)
            info = ev.info(path)
            error = errors.get(path, "")
            seen = before[i] if i < len(before) else None
            if (seen is not None and seen.bs is bs and seen.info is info and seen.top == y and seen.entering == shape
                    and seen.error == error):  # laid out as before: the same glyph at the same place
                edges.append(seen.edge)
                self._next[seen.key] = self.glyphs[path] = seen.glyph
                if seen.shapes is not None:
                    self._next_shapes[path] = seen.shapes
                laid.append(seen)
                y, shape = seen.bottom, seen.leaving
                continue
            ok = info is not None and bool(info.output)
            summary = info.summary if info is not None else summary_of(ev.spec, bs)
            edge = (QLineF(0, y, 0, y + EDGE), shape)
            edges.append(edge)
            top, entering = y, shape
            y += EDGE
            if bs.block == "stage":
                if children is None:
                    children = {}
                    for b in ev.graph.blocks:
                        if b.parent is not None:
                            children.setdefault(b.parent, []).append(b)
                y = self._stage(ev, path, summary, children.get(path, []), errors, edges, y)
                shape = fmt_shape(info.out_shape) if ok and info is not None else "?"
                laid.append(None)  # a stage's repeats and frame are laid out every time
            else:
                g, key = self._leaf(ev, path, bs.block, summary, bs.label, errors, ok)
                g.setPos(-g.sketch.width / 2, y)
                g.setZValue(1)
                self.glyphs[path] = g
                y += g.sketch.height
                shape = fmt_shape(info.out_shape) if ok and info is not None else "?"
                laid.append(None if info is None else
                            Laid(bs, info, error, top, entering, edge, key, g, self._next_shapes.get(path), y, shape))
        self.hint.setVisible(not ev.spec.body)
        if not ev.spec.body:
            self.hint.setPos(-MIN_W, y + EDGE / 2)
            y += self.hint.boundingRect().height() + EDGE
        edges.append((QLineF(0, y, 0, y + EDGE), shape))
        y += EDGE
        text = f"output {shape}"
        end = self._glyph(("output", text), "", lambda: self._pill(text))
        end.setPos(-end.sketch.width / 2, y)
        for key, glyph in self._cache.items():
            if key not in self._next:
                self.scene().removeItem(glyph)
        self._cache, self._shapes, self._laid = self._next, self._next_shapes, laid
        self.wires.set_edges(edges)
        bounds = self.scene().itemsBoundingRect().adjusted(-40, -40, 40, 40)
        self.scene().setSceneRect(bounds)
        self.show_selection(self.hub.selection)
        if self._fitted_for is not self.hub.session:
            self._fitted_for = self.hub.session
            self.fit_width()
        if self.scene().sceneRect() != extent:
            self.viewport().update()

    def _stage(self, ev: Evaluation, path: str, summary: str, repeats: list[Any], errors: dict[str, str],
               edges: list[tuple[QLineF, str]], y: float) -> float:
        """A stage: its repeats one below the other inside a titled frame, from ``y``; where it ends."""
        top = y
        y += self.sketcher.line + PAD
        width = MIN_W
        for k, rep in enumerate(repeats):
            if k:
                edges.append((QLineF(0, y, 0, y + EDGE * 0.7), fmt_shape(rep.in_shape)))
                y += EDGE * 0.7
            g, _ = self._leaf(ev, rep.path, rep.family, rep.summary, rep.label, errors, bool(rep.output))
            g.setPos(-g.sketch.width / 2, y)
            g.setZValue(1)
            self.glyphs[rep.path] = g
            y += g.sketch.height
            width = max(width, g.sketch.width + 4 * PAD)
        y += PAD
        height = y - top
        width = max(width, self.sketcher.width(self.sketcher.mono, f"{path}  {summary}") + 2 * PAD)
        frame = self._glyph(("frame", path, summary, width, height, errors.get(path, "")), path,
                            lambda: self.sketcher.frame(path, summary, width, height))
        frame.setPos(-width / 2, top)
        frame.setZValue(0)
        self.glyphs[path] = frame
        return y

    def _pill(self, text: str) -> Sketch:
        w = self.sketcher.width(self.sketcher.mono, text) + 3 * PAD
        h = self.sketcher.line + PAD
        return Sketch(w, h, [("rect", QRectF(0, 0, w, h), QColor("#eef2f7"), BORDER, h / 2),
                             ("text", QRectF(0, 0, w, h), text, self.sketcher.mono, INK,
                              CENTER)])

    # ------------------------------------------------------------ selection
    def show_selection(self, path: str) -> None:
        target = self.glyphs.get(path)
        for glyph in self.glyphs.values():
            glyph.set_selected(glyph is target)
        if target is not None:
            self.ensureVisible(target, 40, 40)

    def glyph_at(self, pos: QPointF) -> Glyph | None:
        """The innermost block under a view position (a repeat before its stage's frame)."""
        for item in self.items(pos.toPoint()):
            if isinstance(item, Glyph) and item.path:
                return item
        return None

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        self._press = event.position()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        if self._press is not None and (event.position() - self._press).manhattanLength() < 5:
            glyph = self.glyph_at(event.position())
            self.hub.select(glyph.path if glyph is not None else "")
        self._press = None

    # ----------------------------------------------------------------- zoom
    def wheelEvent(self, event: Any) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        self.zoom(1.15 ** steps)

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.05 <= scale <= 8.0:
            self.scale(factor, factor)

    def fit_width(self) -> None:
        """Show the whole width (a long network scrolls vertically), at most at natural size."""
        rect = self.scene().sceneRect()
        if rect.width() <= 0:
            return
        scale = min(1.0, self.viewport().width() / rect.width())
        self.resetTransform()
        self.scale(scale, scale)
        self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / (2 * scale))

    def fit_all(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    # --------------------------------------------------------------- export
    def export_png(self, path: str | Path, scale: float = 2.0) -> None:
        rect = self.scene().sceneRect()
        image = QImage(QSize(int(rect.width() * scale), int(rect.height() * scale)), QImage.Format.Format_ARGB32)
        image.fill(QColor("#ffffff"))
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        with io.atomic_path(path) as tmp:
            if not image.save(str(tmp), "PNG"):
                raise OSError(f"could not write PNG {path}")

    def export_svg(self, path: str | Path) -> None:
        rect = self.scene().sceneRect()
        with io.atomic_path(path) as tmp:
            generator = QSvgGenerator()
            generator.setFileName(str(tmp))
            generator.setSize(QSize(int(rect.width()), int(rect.height())))
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle(self.hub.evaluation.spec.name if self.hub.evaluation else "network")
            painter = QPainter(generator)
            self.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            painter.end()
