"""The convolution playground page: a small input matrix, a kernel, padding, stride and dilation; the padded
input with its padding cells marked, the window at a chosen output position with its products and sum, the
output and the size formula; pooling on the same matrix. All arithmetic is ``analysis.playground``."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QRectF, QSignalBlocker, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QPainter, QPen
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from analysis import playground as pg
from gui.sample_image import shapes_image
from gui.widgets import ErrorLabel

SOURCES = ("random integers", "random values", "sample image crop", "custom")
PAD_FILL, WINDOW_FILL, PICK_FILL = QColor(225, 225, 232), QColor(255, 214, 140), QColor(140, 200, 255)


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


class MatrixView(QWidget):
    """A grid of numbers; padding cells greyed and hatched, highlighted cells filled; a click picks a cell."""

    picked = pyqtSignal(int, int)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.values: pg.Matrix = []
        self.mask: list[list[bool]] | None = None
        self.marked: set[tuple[int, int]] = set()
        self.fill = WINDOW_FILL
        self.setMinimumSize(120, 80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_matrix(self, values: pg.Matrix, mask: list[list[bool]] | None = None,
                    marked: set[tuple[int, int]] | None = None, fill: QColor = WINDOW_FILL) -> None:
        self.values, self.mask, self.marked, self.fill = values, mask, marked or set(), fill
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        rows, cols = len(self.values), len(self.values[0]) if self.values else 0
        return QSize(max(160, cols * 40 + 8), max(100, rows * 30 + 28))

    def _geometry(self) -> tuple[float, float, float]:
        rows, cols = len(self.values), len(self.values[0])
        cell = max(8.0, min((self.width() - 8) / cols, (self.height() - 26) / rows, 46.0))
        return cell, 4.0, 22.0

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(QRectF(4, 0, self.width() - 8, 20), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   self.title)
        if not self.values:
            return
        cell, x0, y0 = self._geometry()
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, min(10.0, cell / 4.2)))
        p.setFont(small)
        for i, row in enumerate(self.values):
            for j, v in enumerate(row):
                r = QRectF(x0 + j * cell, y0 + i * cell, cell, cell)
                padded = self.mask is not None and self.mask[i][j]
                if (i, j) in self.marked:
                    p.fillRect(r, self.fill)
                elif padded:
                    p.fillRect(r, PAD_FILL)
                if padded:
                    p.setPen(QPen(QColor(150, 150, 160), 1, Qt.PenStyle.DashLine))
                else:
                    p.setPen(QPen(QColor(90, 90, 90), 1))
                p.drawRect(r)
                p.setPen(QColor(110, 110, 120) if padded else QColor(20, 20, 20))
                if cell >= 18:
                    p.drawText(r, Qt.AlignmentFlag.AlignCenter, _num(v))

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        if not self.values:
            return
        cell, x0, y0 = self._geometry()
        j, i = int((event.position().x() - x0) // cell), int((event.position().y() - y0) // cell)
        if 0 <= i < len(self.values) and 0 <= j < len(self.values[0]):
            self.picked.emit(i, j)


def _spin(lo: int, hi: int, value: int) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    return s


class PlaygroundPage(QWidget):
    """Controls on the left; padded input, kernel, output, the window's arithmetic and pooling on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: pg.Result | None = None
        outer = QHBoxLayout(self)
        controls = QVBoxLayout()
        outer.addLayout(controls, 0)

        box = QGroupBox("Input")
        form = QFormLayout(box)
        self.dims = QComboBox()
        self.dims.addItems(["2-D", "1-D"])
        self.source = QComboBox()
        self.source.addItems(SOURCES)
        self.rows, self.cols, self.seed = _spin(1, 16, 6), _spin(1, 24, 6), _spin(0, 9999, 0)
        self.custom_input = QPlainTextEdit("1 2 3\n4 5 6\n7 8 9")
        self.custom_input.setMaximumHeight(70)
        for label, w in (("dimensions", self.dims), ("source", self.source), ("rows", self.rows),
                         ("columns", self.cols), ("seed / crop", self.seed), ("custom", self.custom_input)):
            form.addRow(label, w)
        controls.addWidget(box)

        box = QGroupBox("Kernel and convolution")
        form = QFormLayout(box)
        self.kernel = QComboBox()
        self.ksize = _spin(1, 7, 3)
        self.custom_kernel = QPlainTextEdit("0 1 0\n1 -4 1\n0 1 0")
        self.custom_kernel.setMaximumHeight(60)
        self.mode = QComboBox()
        self.mode.addItems(pg.MODES)
        self.amount = QComboBox()
        self.amount.addItems(pg.AMOUNTS)
        self.stride, self.dilation = _spin(1, 4, 1), _spin(1, 4, 1)
        self.flip = QCheckBox("true convolution (kernel flipped)")
        self.flip.setToolTip("unchecked: cross-correlation, what F.conv2d and every framework compute")
        self.out_row, self.out_col = _spin(0, 99, 0), _spin(0, 99, 0)
        for label, w in (("kernel", self.kernel), ("size", self.ksize), ("custom grid", self.custom_kernel),
                         ("padding mode", self.mode), ("padding", self.amount), ("stride", self.stride),
                         ("dilation", self.dilation), ("", self.flip), ("output row", self.out_row),
                         ("output column", self.out_col)):
            form.addRow(label, w)
        controls.addWidget(box)

        box = QGroupBox("Pooling (same input)")
        form = QFormLayout(box)
        self.pool_kind = QComboBox()
        self.pool_kind.addItems(pg.POOLS)
        self.pool_k, self.pool_s, self.pool_n = _spin(1, 5, 2), _spin(1, 5, 2), _spin(1, 25, 2)
        self.pool_ceil = QCheckBox("ceil_mode")
        for label, w in (("kind", self.pool_kind), ("window", self.pool_k), ("stride", self.pool_s),
                         ("n (N-max)", self.pool_n), ("", self.pool_ceil)):
            form.addRow(label, w)
        controls.addWidget(box)
        self.error = ErrorLabel()
        controls.addWidget(self.error)
        controls.addStretch(1)

        grids = QGridLayout()
        outer.addLayout(grids, 1)
        self.padded_view = MatrixView("Padded input (grey, dashed: padding; orange: the window)")
        self.kernel_view = MatrixView("Kernel as applied")
        self.output_view = MatrixView("Output (blue: the chosen position; click to choose)")
        self.pool_view = MatrixView("Pooling")
        self.arith = QLabel()
        self.arith.setWordWrap(True)
        self.arith.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.arith.setFont(QFont("monospace"))
        grids.addWidget(self.padded_view, 0, 0, 1, 2)
        grids.addWidget(self.kernel_view, 1, 0)
        grids.addWidget(self.output_view, 1, 1)
        grids.addWidget(self.arith, 2, 0, 1, 2)
        grids.addWidget(self.pool_view, 3, 0, 1, 2)
        grids.setRowStretch(0, 3)
        grids.setRowStretch(1, 2)
        grids.setRowStretch(3, 2)

        self.output_view.picked.connect(self._pick)
        self.dims.currentIndexChanged.connect(self._dims_changed)
        for w in (self.source, self.kernel, self.mode, self.amount, self.pool_kind):
            w.currentIndexChanged.connect(self.recompute)
        for w in (self.rows, self.cols, self.seed, self.ksize, self.stride, self.dilation, self.out_row,
                  self.out_col, self.pool_k, self.pool_s, self.pool_n):
            w.valueChanged.connect(self.recompute)
        for w in (self.flip, self.pool_ceil):
            w.toggled.connect(self.recompute)
        for w in (self.custom_input, self.custom_kernel):
            w.textChanged.connect(self.recompute)
        self._dims_changed()

    # ---------------------------------------------------------------------------------------- state
    @property
    def one_d(self) -> bool:
        return self.dims.currentIndex() == 1

    def _dims_changed(self, *_: Any) -> None:
        with QSignalBlocker(self.kernel):
            self.kernel.clear()
            for name, (doc, _) in (pg.KERNELS_1D if self.one_d else pg.KERNELS_2D).items():
                self.kernel.addItem(name, name)
                self.kernel.setItemData(self.kernel.count() - 1, doc, Qt.ItemDataRole.ToolTipRole)
            self.kernel.addItem("custom", "custom")
        self.rows.setEnabled(not self.one_d)
        self.recompute()

    def _input(self) -> pg.Matrix:
        rows = 1 if self.one_d else self.rows.value()
        cols, seed, source = self.cols.value(), self.seed.value(), self.source.currentText()
        if source == "custom":
            m = pg.parse_matrix(self.custom_input.toPlainText())
            return m[:1] if self.one_d else m
        if source == "sample image crop":
            image = shapes_image(64, 64, 1, seed=0)[..., 0]
            top, left = (seed * 7) % (64 - rows + 1), (seed * 11) % (64 - cols + 1)
            return [[round(float(image[top + i, left + j]) / 255, 2) for j in range(cols)] for i in range(rows)]
        return pg.random_matrix(rows, cols, seed, integers=source == "random integers")

    def _kernel(self) -> pg.Matrix:
        name = self.kernel.currentData()
        if name == "custom":
            k = pg.parse_matrix(self.custom_kernel.toPlainText())
            return k[:1] if self.one_d else k
        return pg.kernel(name, self.ksize.value(), self.one_d)

    def _pick(self, i: int, j: int) -> None:
        self.out_row.setValue(i)
        self.out_col.setValue(j)

    def set_state(self, **values: Any) -> None:
        """Set controls by name (tests and screenshots): source, kernel, mode, amount as text; numbers."""
        for name, value in values.items():
            w = getattr(self, name)
            if isinstance(w, QComboBox):
                w.setCurrentIndex(w.findText(value))
            elif isinstance(w, QCheckBox):
                w.setChecked(value)
            elif isinstance(w, QPlainTextEdit):
                w.setPlainText(value)
            else:
                w.setValue(value)

    # -------------------------------------------------------------------------------------- compute
    def recompute(self, *_: Any) -> None:
        try:
            x, k = self._input(), self._kernel()
            one = (1, self.stride.value()) if self.one_d else self.stride.value()
            dil = (1, self.dilation.value()) if self.one_d else self.dilation.value()
            amount = self.amount.currentText()
            if self.one_d:  # no padding on the trivial axis
                _, _, left, right = pg.pads_for(amount, (1, len(k[0])), (1, self.dilation.value()))
                amount = (0, 0, left, right)
            res = pg.convolve(x, k, one, dil, amount, self.mode.currentText(), flip=self.flip.isChecked())
        except ValueError as e:
            self.error.setText(str(e))
            return
        self.error.setText("")
        self.result = res
        oh, ow = len(res.output), len(res.output[0])
        for spin, n in ((self.out_row, oh), (self.out_col, ow)):
            with QSignalBlocker(spin):
                spin.setMaximum(n - 1)
        i, j = self.out_row.value(), self.out_col.value()
        win = res.window(i, j)
        self.padded_view.show_matrix(res.padded, res.padding_mask, set(win.cells))
        self.kernel_view.show_matrix(res.kernel)
        self.output_view.show_matrix(res.output, None, {(i, j)}, PICK_FILL)
        terms = " + ".join(f"{_num(v)}·{_num(w)}" for v, w in zip(win.values, win.weights))
        what = "true convolution (kernel flipped)" if self.flip.isChecked() else "cross-correlation"
        formulas = res.formula[1:] if self.one_d else res.formula
        self.arith.setText(f"{what}; output[{i}, {j}] = {terms} = {_num(win.total)}\n"
                           + "\n".join(formulas))
        try:
            pooled, pformula = pg.pool(x, self.pool_kind.currentText(),
                                       (1, self.pool_k.value()) if self.one_d else self.pool_k.value(),
                                       (1, self.pool_s.value()) if self.one_d else self.pool_s.value(),
                                       0, self.pool_n.value(), self.pool_ceil.isChecked())
            name = {"max": "max", "avg": "average", "nmax": f"{self.pool_n.value()}-max"}[self.pool_kind.currentText()]
            shown = pformula[1:] if self.one_d else pformula
            self.pool_view.title = (f"{name} pooling -> {len(pooled)}x{len(pooled[0])}:  "
                                    + ";  ".join(f.split(" = ", 2)[2] for f in shown))
            self.pool_view.show_matrix(pooled)
        except ValueError as e:
            self.pool_view.title = f"pooling: {e}"
            self.pool_view.show_matrix([])


def install(window: Any) -> PlaygroundPage:
    """The "Playground" page beside Training, Search and Compare."""
    from PyQt6.QtWidgets import QStyle

    page = PlaygroundPage()
    window.pages_extra.add(page, "Playground", QStyle.StandardPixmap.SP_DialogHelpButton)
    return page
