"""The list of saved training runs (run directories under a folder): reopen one — overlay its curves,
continue it from its checkpoint, open its network in the designer. Reading is done in the background.

The list describes the current document's network: by default only the runs that trained what it builds
(``training.matching``), with a box to show every run of the folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from arch.spec import Spec
from gui.jobs import Job, Runner
from gui.places import absolute
from gui.train_views import percent
from training.matching import runs_of
from training.runs import DEFAULT_ROOT, History, RunInfo, list_runs, load_history

COLUMNS = ("Run", "Network", "Status", "Epochs", "Best val acc", "Final val acc", "Final top-5", "Data", "Started",
           "Time")
TOP5_COLUMN = COLUMNS.index("Final top-5")
PATH = Qt.ItemDataRole.UserRole


class RunsPanel(QWidget):
    overlay = pyqtSignal(str, object)        # run name, History (None: remove the overlay)
    continue_requested = pyqtSignal(str)     # run directory
    open_requested = pyqtSignal(str)         # run directory: open its network in the designer
    failed = pyqtSignal(str)
    chosen = pyqtSignal(str)                 # a run was selected: show what it learned
    listed = pyqtSignal()                    # the list (and the current network's runs) was read again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = QLineEdit(str(absolute("", str(DEFAULT_ROOT))))
        self.root.setToolTip("folder holding the run directories (new runs are saved here); always an absolute "
                             "path, remembered between sessions")
        self.only_this = QCheckBox("only this network")
        self.only_this.setChecked(True)
        self.only_this.setToolTip("list only the runs that trained the current document's network (the same "
                                  "built layers; name, description and search section aside)")
        self.spec: Spec | None = None
        self.runs: list[RunInfo] = []
        self.matching: list[str] = []  # run directories of the current network, oldest first
        self.pick = QToolButton()
        self.pick.setText("…")
        self.refresh_button = QPushButton("Refresh")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.headerItem().setToolTip(TOP5_COLUMN, "validation top-5 accuracy of the last epoch ('-': the data "
                                          "has 5 classes or fewer)")
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self.tree.setToolTip("tick a run to overlay its validation curves on the plots")
        self.continue_button = QPushButton("Continue from checkpoint")
        self.continue_button.setToolTip("train the selected run's network again, starting from its final weights "
                                        "(with the form's settings; a new run directory)")
        self.open_button = QPushButton("Open network")
        self.open_button.setToolTip("open the selected run's network in the designer")
        self.note = QLabel()
        self.note.setStyleSheet("color: #555;")
        top = QHBoxLayout()
        top.addWidget(QLabel("Runs folder"))
        top.addWidget(self.root, 1)
        top.addWidget(self.pick)
        top.addWidget(self.only_this)
        top.addWidget(self.refresh_button)
        top.addWidget(self.continue_button)
        top.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.note)
        self.lister = Runner("runs", self)
        self.reader = Runner("history", self)
        self.infos: dict[str, RunInfo] = {}
        self.checked: set[str] = set()  # runs ticked for an overlay
        self.shown: set[str] = set()    # runs whose overlay is drawn
        self.pick.clicked.connect(self._pick)
        self.refresh_button.clicked.connect(self.refresh)
        self.root.editingFinished.connect(self._root_edited)
        self.only_this.toggled.connect(lambda _on: self._show(self.runs, self.matching))
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.continue_button.clicked.connect(lambda: self._emit_selected(self.continue_requested))
        self.open_button.clicked.connect(lambda: self._emit_selected(self.open_requested))
        self._selection_changed()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self.infos:
            self.refresh()

    def folder(self) -> Path:
        return absolute(self.root.text(), str(DEFAULT_ROOT))

    def set_folder(self, path: str | Path) -> None:
        self.root.setText(str(absolute(str(path), str(DEFAULT_ROOT))))
        self.refresh()

    def _root_edited(self) -> None:
        shown = str(self.folder())  # where the runs really go, whatever the current directory
        if self.root.text() != shown:
            self.root.setText(shown)
        self.refresh()

    def set_network(self, spec: Spec | None) -> None:
        """The current document's network: the list shows its runs."""
        self.spec = spec
        self.refresh()

    def refresh(self) -> None:
        folder, spec = self.folder(), self.spec

        def read(_job: Job) -> tuple[list[RunInfo], list[str]]:
            runs = list_runs(folder)
            return runs, [str(r.path) for r in runs_of(spec, runs)] if spec is not None else []

        self.lister.submit(read, lambda found: self._show(*found), lambda e: self.failed.emit(str(e)))

    def latest_match(self) -> str | None:
        """The newest run of the current network (what Continue resumes)."""
        return self.matching[-1] if self.matching else None

    def _pick(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Runs folder", str(self.folder()))
        if path:
            self.root.setText(path)
            self.refresh()

    def _show(self, runs: list[RunInfo], matching: list[str]) -> None:
        self.runs, self.matching = runs, matching
        selected = self.selected()
        with QSignalBlocker(self.tree):
            self.tree.clear()
            self.infos = {}
            mine = set(matching)
            shown = [r for r in runs if str(r.path) in mine] if self.only_this.isChecked() else runs
            for info in reversed(shown):  # newest first
                key = str(info.path)
                self.infos[key] = info
                started = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.started)) if info.started else "-"
                item = QTreeWidgetItem([info.path.name, info.spec_name, info.status, str(info.epochs),
                                        percent(info.best_val_acc), percent(info.final_val_acc),
                                        percent(info.final_val_top5), info.data, started, f"{info.elapsed:.0f} s"])
                item.setData(0, PATH, key)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(0, Qt.CheckState.Checked if key in self.checked else Qt.CheckState.Unchecked)
                for col in (3, 4, 5, TOP5_COLUMN, COLUMNS.index("Time")):
                    item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.tree.addTopLevelItem(item)
                if key == selected:
                    item.setSelected(True)
        name = self.spec.name if self.spec is not None else "this network"
        self.note.setText(f"{len(matching)} run(s) of {name}, {len(runs)} in all, in {self.folder()}"
                          if runs else f"no runs in {self.folder()} yet")
        self._selection_changed(announce=False)
        self.listed.emit()

    def show_progress(self, run_dir: str, epochs: int, best: float | None, final: float | None,
                      top5: float | None = None) -> None:
        """A running run's row follows its records (no disk read between its start and its end)."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, PATH) == run_dir:
                for col, text in ((3, str(epochs)), (4, percent(best)), (5, percent(final)),
                                  (TOP5_COLUMN, percent(top5))):
                    if item.text(col) != text:
                        item.setText(col, text)
                return

    def selected(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, PATH) if items else None

    def select(self, path: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, PATH) == path)

    def set_checked(self, path: str, on: bool) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, PATH) == path:
                item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _selection_changed(self, announce: bool = True) -> None:
        path = self.selected()
        self.continue_button.setEnabled(path is not None)
        self.open_button.setEnabled(path is not None)
        if announce and path is not None:
            self.chosen.emit(path)

    def _emit_selected(self, signal: Any) -> None:
        path = self.selected()
        if path:
            signal.emit(path)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        key = item.data(0, PATH)
        if item.checkState(0) == Qt.CheckState.Checked:
            self.checked.add(key)
            wanted = sorted(self.checked - self.shown)  # every checked run not drawn yet, in one job
            self.reader.submit(lambda _job: [load_history(k) for k in wanted], self._loaded,
                               lambda e: self.failed.emit(str(e)))
        else:
            self.checked.discard(key)
            if key in self.shown:
                self.shown.discard(key)
                self.overlay.emit(Path(key).name, None)

    def _loaded(self, histories: list[History]) -> None:
        for history in histories:
            key = str(history.path)
            if key in self.checked and key not in self.shown:
                self.shown.add(key)
                self.overlay.emit(history.path.name, history)
