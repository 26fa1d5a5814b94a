"""The Compare page: several networks side by side — totals, stages, receptive-field growth, a params vs
MACs scatter coloured by accuracy, overlaid training curves where runs exist, first-layer filters — and a
Report view holding the comparative report (the ``compare`` command's sections; latency measured on request),
exported as one HTML, Markdown or JSON file (written atomically, in a worker)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from analysis.compare import stage_rows, totals_rows
from arch import io
from arch.errors import ConvSmithError
from arch.spec import load
from arch.templates import load_template, names
from gui.compare_inspect import InspectCompare
from gui.compare_model import Loaded, Network, comparison, load_network, render_report
from gui.compare_report_view import ReportView
from gui.jobs import Job, Runner
from gui.plots import GREY, colour, decade_ticks, make_plot, pen, qpixmap
from gui.train_views import filter_caption
from gui.widgets import TextPane
from search.records import TrialRecord

if TYPE_CHECKING:
    from gui.main_window import MainWindow

KEY = Qt.ItemDataRole.UserRole


def _table(head: list[str], rows: list[list[str]]) -> QTableWidget:
    t = QTableWidget(len(rows), len(head))
    t.setHorizontalHeaderLabels(head)
    t.verticalHeader().hide()
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(True)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(r, c, item)
    t.resizeColumnsToContents()
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return t


class CompareTab(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.networks: list[Network] = []
        self.loaded: dict[int, Loaded] = {}
        self.loader = Runner("compare", self)

        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.add_button = QToolButton()
        self.add_button.setText("Add")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        self.add_menu.aboutToShow.connect(self._fill_add_menu)
        self.add_button.setMenu(self.add_menu)
        self.remove_button = QPushButton("Remove")
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip("the comparative report (the Report view) as one self-contained HTML file, "
                                      "Markdown or JSON")
        self.status = TextPane(lines=6)  # fixed height: longer notes never move the buttons (full text as tooltip)
        self.status.label.setStyleSheet("color: #555;")
        self.views = QTabWidget()
        self.report_view = ReportView(self._measure)
        self.inspect_view = InspectCompare()  # runs' interpretation pictures side by side
        self.totals_holder = QHBoxLayout()
        self.scatter = make_plot("Params vs MACs (colour: accuracy)", "parameters (log)", "MACs (log)", legend=None)
        self.rf = make_plot("Receptive field growth", "top-level block", "field size (px)", legend="top-left",
                            integer_x=True)
        self.curves = make_plot("Validation accuracy", "epoch", "accuracy", legend="bottom", integer_x=True,
                                placeholder="no training runs of these networks")
        self.filters = QWidget()
        self.filters_row = QHBoxLayout(self.filters)
        self._layout()
        self.add_button.setToolTip("add networks: open documents, templates, trials of the study shown on the "
                                   "Search page, spec files, training runs")
        self.remove_button.clicked.connect(self.remove_selected)
        self.export_button.clicked.connect(lambda: self.export_html())
        self._redraw()

    def _layout(self) -> None:
        side = QWidget()
        v = QVBoxLayout(side)
        v.addWidget(QLabel("<b>Networks</b>"))
        v.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        v.addLayout(row)
        v.addWidget(self.export_button)
        v.addWidget(self.status)
        side.setMaximumWidth(260)
        tables = QWidget()
        tables.setLayout(self.totals_holder)
        plots = QSplitter(Qt.Orientation.Horizontal)
        for plot in (self.scatter, self.rf, self.curves):
            plots.addWidget(plot)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.filters)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(tables)
        split.addWidget(plots)
        split.addWidget(scroll)
        split.setSizes([380, 350, 240])
        outer = QHBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(side)
        self.views.addTab(split, "Overview")
        self.views.addTab(self.report_view, "Report")
        self.views.addTab(self.inspect_view, "Inspect")
        outer.addWidget(self.views, 1)

    # ------------------------------------------------------------------ adding
    def _fill_add_menu(self) -> None:
        menu = self.add_menu
        menu.clear()
        docs = menu.addMenu("Open document")
        for doc in self.window_.workspace.documents:
            docs.addAction(doc.title, lambda d=doc: self.add(Network(d.title, d.spec, "document")))
        templates = menu.addMenu("Template")
        for name in names():
            templates.addAction(name, lambda n=name: self.add_template(n))
        search = self.window_.pages_extra.search
        if search.shown is not None:
            trials = menu.addMenu(f"Trial of study {search.shown.name}")
            for rec in search.model.records:
                if rec.spec_text:
                    acc = "" if rec.accuracy is None else f" · {100 * rec.accuracy:.1f} %"
                    trials.addAction(f"#{rec.number} ({rec.state}){acc}",
                                     lambda r=rec, s=search.shown.name: self.add_trial(s, r))
        menu.addAction("Spec file…", lambda: self.add_file())
        menu.addAction("Training run…", lambda: self.add_run())

    def _unique(self, label: str) -> str:
        taken = {n.label for n in self.networks}
        out, i = label, 2
        while out in taken:
            out, i = f"{label} ({i})", i + 1
        return out

    def add(self, network: Network) -> Network:
        network.label = self._unique(network.label)
        self.networks.append(network)
        item = QListWidgetItem(network.label)
        item.setData(KEY, network.key)
        item.setToolTip(network.origin)
        self.list.addItem(item)
        self._load()
        return network

    def add_template(self, name: str) -> Network:
        spec = load_template(name)
        return self.add(Network(spec.name, spec, f"template:{name}"))

    def add_file(self, path: str | Path | None = None) -> Network | None:
        if path is None:
            path = self.window_.dialogs.open_path(self, "Add a spec to the comparison")
            if not path:
                return None
        try:
            spec = load(path)
        except ConvSmithError as e:
            self.window_.dialogs.error(self, f"Cannot add {Path(path).name}", str(e))
            return None
        return self.add(Network(spec.name, spec, f"file:{path}"))

    def add_run(self, path: str | Path | None = None) -> Network | None:
        if path is None:
            path = QFileDialog.getExistingDirectory(self, "Training run directory",
                                                    str(self.window_.pages_extra.training.runs.folder()))
            if not path:
                return None
        try:
            spec = load(Path(path) / "spec.json")
        except ConvSmithError as e:
            self.window_.dialogs.error(self, "Not a run of a ConvSmith network", str(e))
            return None
        return self.add(Network(f"{spec.name} (trained)", spec, f"run:{path}", Path(path)))

    def add_trial(self, study: str, rec: TrialRecord) -> Network:
        """A search trial: its network, its accuracy, and its folder's curves (and filters when kept)."""
        return self.add(Network(f"{study} #{rec.number}", rec.spec(), f"trial:{study}#{rec.number}",
                                Path(rec.folder) if rec.folder else None, rec.accuracy))

    def remove_selected(self) -> None:
        keys = {item.data(KEY) for item in self.list.selectedItems()}
        self.networks = [n for n in self.networks if n.key not in keys]
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self._redraw()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        missing = [n for n in self.networks if n.key not in self.loaded]
        if not missing:
            self._redraw()
            return
        root = self.window_.pages_extra.training.runs.folder()
        self.status.setText(f"analysing {len(missing)} network(s) …")
        self.loader.submit(lambda _job: [load_network(n, root) for n in missing], self._loaded_networks,
                           lambda e: self.status.setText(f"cannot load: {e}"))

    def _loaded_networks(self, items: list[Loaded]) -> None:
        for x in items:
            self.loaded[x.network.key] = x
        self._load()  # networks added while this batch loaded

    def items(self) -> list[Loaded]:
        """The loaded networks in list order."""
        return [self.loaded[n.key] for n in self.networks if n.key in self.loaded]

    # ------------------------------------------------------------------ drawing
    def _redraw(self) -> None:
        items = self.items()
        reports = [x.report for x in items]
        head = [""] + [r.name for r in reports]
        while self.totals_holder.count():
            old = self.totals_holder.takeAt(0).widget()
            if old is not None:
                old.deleteLater()
        accuracy = ["validation accuracy"] + ["-" if x.accuracy is None else f"{100 * x.accuracy:.2f} %"
                                              for x in items]
        self.totals = _table(head, totals_rows(reports) + [accuracy])
        self.stages = _table(head, stage_rows(reports))
        for title, table, stretch in (("<b>Totals</b> (analysis engine)", self.totals, 3),
                                      ("<b>Stages</b>: consecutive top-level blocks with the same output size",
                                       self.stages, 2)):
            column = QWidget()
            v = QVBoxLayout(column)
            v.setContentsMargins(0, 0, 0, 0)
            v.addWidget(QLabel(title))
            v.addWidget(table, 1)
            self.totals_holder.addWidget(column, stretch)
        self.report_view.show_comparison(comparison(items) if items else None)
        self._draw_scatter(items)
        self._draw_rf(items)
        self._draw_curves(items)
        self._draw_filters(items)
        self.inspect_view.show_runs([(x.report.name, x.run_dir) for x in items])
        self.export_button.setEnabled(bool(items))
        self.status.setText(f"{len(items)} network(s)" + "".join(f"\n{x.report.name}: {n}" for x in items
                                                                   for n in x.notes))

    def _draw_scatter(self, items: list[Loaded]) -> None:
        plot = self.scatter.getPlotItem()
        plot.clear()
        accs = [x.accuracy for x in items if x.accuracy is not None]
        lo, hi = (min(accs), max(accs)) if accs else (0.0, 1.0)
        cmap = pg.colormap.get("viridis")
        xs = [math.log10(max(x.report.totals.params, 1)) for x in items]  # log10 axes, labelled in decades
        ys = [math.log10(max(x.report.totals.macs, 1)) for x in items]
        span = (min(xs or [0.0]) - 0.5, max(xs or [1.0]) + 0.8), (min(ys or [0.0]) - 0.5, max(ys or [1.0]) + 0.5)
        plot.setXRange(*span[0], padding=0)  # room for the labels right of the points
        plot.setYRange(*span[1], padding=0)
        decade_ticks(self.scatter, "bottom", *span[0])
        decade_ticks(self.scatter, "left", *span[1])
        for x, px, py in zip(items, xs, ys):
            if x.accuracy is None:
                c = pg.mkColor(GREY)
            else:
                c = cmap.map((x.accuracy - lo) / (hi - lo) if hi > lo else 1.0, mode="qcolor")
            plot.plot([px], [py], pen=None, symbol="o", symbolSize=12, symbolBrush=c, symbolPen=pg.mkPen("#333"))
            acc = "" if x.accuracy is None else f" · {100 * x.accuracy:.1f} %"
            label = pg.TextItem(f"{x.report.name}{acc}", color="#333", anchor=(0, 1))
            label.setPos(px, py)
            plot.addItem(label)

    def _draw_rf(self, items: list[Loaded]) -> None:
        self.rf.getPlotItem().clear()
        for i, x in enumerate(items):
            top = [b for b in x.report.blocks if b.parent is None and len(b.out_shape) == 3 and not b.rf_whole_input]
            self.rf.plot(np.arange(1, len(top) + 1), [b.rf_size[0] for b in top], pen=pen(colour(i), 2.0),
                         name=x.report.name, symbol="o", symbolSize=5, symbolBrush=colour(i), symbolPen=None)

    def _draw_curves(self, items: list[Loaded]) -> None:
        self.curves.getPlotItem().clear()
        for i, x in enumerate(items):
            rows = [r for r in x.curve if r.get("val_acc") is not None]
            if rows:
                self.curves.plot([r["epoch"] for r in rows], [r["val_acc"] for r in rows], pen=pen(colour(i), 2.0),
                                 name=x.report.name, symbol="o", symbolSize=5, symbolBrush=colour(i), symbolPen=None)

    def _draw_filters(self, items: list[Loaded]) -> None:
        while self.filters_row.count():
            old = self.filters_row.takeAt(0).widget()
            if old is not None:
                old.deleteLater()
        for x in items:
            box = QWidget()
            v = QVBoxLayout(box)
            title = QLabel(f"<b>{x.report.name}</b>")
            picture = QLabel()
            caption = QLabel(filter_caption(x.filters) if x.filters is not None else
                             "no trained weights: " + "; ".join(x.notes))
            caption.setWordWrap(True)
            caption.setMaximumWidth(260)
            if x.filters is not None:
                picture.setPixmap(qpixmap(x.filters.image, 200))
            v.addWidget(title)
            v.addWidget(picture)
            v.addWidget(caption)
            v.addStretch(1)
            self.filters_row.addWidget(box)
        self.filters_row.addStretch(1)

    # ------------------------------------------------------------------ measuring
    def _measure(self, cancel: threading.Event, progress: Callable[[int, int, str], None]) -> None:
        """Time the loaded networks in a worker; the Report view shows progress and can stop it."""
        from search.compare_report import Cancelled, measure, spec_source

        items = self.items()
        entries = [x.entry for x in items if x.entry is not None]
        sources = [spec_source(x.network.spec, x.network.origin, x.report) for x in items if x.entry is not None]

        def done(notes: list[str]) -> None:
            self.report_view.measuring_ended("measured: " + "; ".join(notes) if notes else "measured")
            self._redraw()

        def failed(e: BaseException) -> None:
            self.report_view.measuring_ended("stopped" if isinstance(e, Cancelled) else f"cannot measure: {e}")
            self._redraw()

        self.window_.workers.submit(lambda _job: measure(entries, sources, None, None, progress, cancel), done, failed,
                                    title="Measuring latency and memory")

    # ------------------------------------------------------------------ export
    def export_html(self, path: str | Path | None = None) -> bool:
        """Write the comparison report in a worker (atomically); False when nothing was started."""
        items = self.items()
        if not items:
            return False
        if path is None:
            path = self.window_.dialogs.save_path(self, "Export the comparison", str(Path.cwd() / "comparison.html"),
                                                  "HTML (*.html);;Markdown (*.md);;JSON (*.json)")
            if not path:
                return False
        target = Path(path)

        def work(_job: Job) -> int:
            data = render_report(items, target).encode("utf-8")
            io.write_bytes(target, data)
            return len(data)

        self.window_.workers.submit(work, lambda n: self.status.setText(f"wrote {target} ({n:,} bytes)"),
                                    lambda e: self.window_.dialogs.error(self, f"Cannot export {target.name}", str(e)),
                                    title=f"Exporting {target.name}")
        return True
