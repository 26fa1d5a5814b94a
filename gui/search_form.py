"""The search tab's settings: study, storage, data, objectives and limits, sampler, pruner and budget —
one ``search.SearchConfig``, checked by its own ``problems()`` so the form says what the CLI would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arch.spec import Spec
from gui.places import absolute
from search.config import (
    DEVICES,
    MULTI_PRUNERS,
    OBJECTIVES,
    SAMPLERS,
    SINGLE_PRUNERS,
    Limits,
    SearchConfig,
    parse_number,
)
from search.storage import STORAGE_HELP
from training.errors import DataError
from training.source import parse_source

# Limits field -> (label, tooltip, integer)
LIMITS = {
    "max_params": ("max params", "largest parameter count (e.g. 200k)", True),
    "max_macs": ("max MACs", "most multiply-accumulates per image (e.g. 5M)", True),
    "max_memory": ("max memory", "peak inference activation bytes at batch 1 (e.g. 2M)", True),
    "max_latency": ("max latency (ms)", "median batch-1 forward time on the search device, in ms (measured)", False),
    "min_rf": ("min receptive field", "smallest receptive field (pixels) at the last spatial layer", True),
}


def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class SearchForm(QWidget):
    changed = pyqtSignal()
    use_training_data = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        study = QGroupBox("Study")
        f = QFormLayout(study)
        self.study = QLineEdit("study-1")
        self.study.setToolTip("the study's name; starting a study that exists resumes it (same settings)")
        self.root = QLineEdit(str(absolute("", "studies")))  # absolute: the same folder whatever the cwd
        self.root.setToolTip("folder of studies: the default storage and each trial's files")
        self.embedded = QRadioButton("embedded (journal file in the study folder)")
        self.url_choice = QRadioButton("URL")
        self.embedded.setChecked(True)
        self.url = QLineEdit()
        self.url.setPlaceholderText("sqlite:///studies.db")
        self.url.setToolTip(STORAGE_HELP)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url_choice)
        url_row.addWidget(self.url, 1)
        f.addRow("name", self.study)
        f.addRow("folder", self.root)
        f.addRow("storage", self.embedded)
        f.addRow("", url_row)
        layout.addWidget(study)

        data = QGroupBox("Data")
        dv = QVBoxLayout(data)
        self.data = QLineEdit("synthetic:shapes?n=2000&size=32&channels=3")
        self.data.setFont(QFont("monospace"))
        self.data.setToolTip("dataset string, as in the Training tab and `convsmith search --data`")
        self.from_training = QPushButton("Use the Training tab's dataset")
        dv.addWidget(self.data)
        dv.addWidget(self.from_training)
        layout.addWidget(data)

        goals = QGroupBox("Objectives and limits")
        g = QFormLayout(goals)
        self.objectives: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, (name, (direction, doc)) in enumerate(OBJECTIVES.items()):
            box = QCheckBox(name)
            box.setToolTip(f"{direction} {doc}")
            if name == "accuracy":
                box.setChecked(True)
                box.setEnabled(False)
            self.objectives[name] = box
            grid.addWidget(box, i // 3, i % 3)
        g.addRow("objectives", grid)
        self.limits: dict[str, QLineEdit] = {}
        for key, (label, tip, _) in LIMITS.items():
            edit = QLineEdit()
            edit.setPlaceholderText("no limit")
            edit.setToolTip(tip + "; checked before training, infeasible candidates are never trained")
            self.limits[key] = edit
            g.addRow(label, edit)
        layout.addWidget(goals)

        run = QGroupBox("Sampler and budget")
        r = QFormLayout(run)
        self.sampler = QComboBox()
        self.sampler.addItems(SAMPLERS)
        self.sampler.setToolTip("tpe (default), nsga2 (multi-objective), random, gp (needs scipy)")
        self.pruner = QComboBox()
        self.trials = _spin(1, 100_000, 20, "the study should hold this many trials (resuming tops it up)")
        self.timeout = QLineEdit()
        self.timeout.setPlaceholderText("none")
        self.timeout.setToolTip("seconds after which no new trial starts (running ones finish)")
        self.workers = _spin(1, 256, 1, "trial processes in parallel on this machine")
        self.epochs = _spin(1, 10_000, 3, "training epochs per trial")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.seed = _spin(0, 2**31 - 1, 0, "seed of the sampler and of training")
        for label, w in (("sampler", self.sampler), ("pruner", self.pruner), ("trials", self.trials),
                         ("timeout (s)", self.timeout), ("workers", self.workers), ("epochs per trial", self.epochs),
                         ("device", self.device), ("seed", self.seed)):
            r.addRow(label, w)
        layout.addWidget(run)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #c02020;")
        layout.addWidget(self.problems)
        self._pruners()

        for box in self.objectives.values():
            box.toggled.connect(lambda _on: (self._pruners(), self.changed.emit()))
        for edit in (self.study, self.root, self.url, self.data, self.timeout, *self.limits.values()):
            edit.textEdited.connect(lambda _t: self.changed.emit())
        self.url_choice.toggled.connect(lambda _on: self.changed.emit())
        self.from_training.clicked.connect(self.use_training_data)

    def _pruners(self) -> None:
        multi = sum(b.isChecked() for b in self.objectives.values()) > 1
        names = MULTI_PRUNERS if multi else SINGLE_PRUNERS
        if [self.pruner.itemText(i) for i in range(self.pruner.count())] != list(names):
            self.pruner.clear()
            self.pruner.addItems(names)
            self.pruner.setToolTip("multi-objective: bucket compares trials within the same MACs bucket" if multi
                                   else "median (default), hyperband, halving or none")

    # ------------------------------------------------------------------ values
    def folder(self) -> Path:
        return absolute(self.root.text(), "studies")

    def storage(self) -> str | None:
        return (self.url.text().strip() or None) if self.url_choice.isChecked() else None

    def objective_names(self) -> tuple[str, ...]:
        return tuple(name for name, box in self.objectives.items() if box.isChecked())

    def _limits(self, problems: list[str]) -> Limits:
        values: dict[str, Any] = {}
        for key, edit in self.limits.items():
            text = edit.text().strip()
            if not text:
                continue
            try:
                v = parse_number(text)
            except ValueError as e:
                problems.append(f"{LIMITS[key][0]}: {e}")
                continue
            values[key] = int(v) if LIMITS[key][2] else v
        return Limits(**values)

    def config(self, spec: Spec) -> tuple[SearchConfig, list[str]]:
        """The study the form describes for ``spec`` and every problem with it (empty: it can run)."""
        problems: list[str] = []
        limits = self._limits(problems)
        timeout = None
        if self.timeout.text().strip():
            try:
                timeout = float(self.timeout.text())
            except ValueError:
                problems.append(f"timeout: a number of seconds (got {self.timeout.text()!r})")
        try:
            parse_source(self.data.text())
        except DataError as e:
            problems.append(f"data: {e}")
        if self.url_choice.isChecked() and not self.url.text().strip():
            problems.append("storage: type a storage URL, or choose the embedded journal file")
        config = SearchConfig(spec=spec, data=self.data.text().strip(), study=self.study.text().strip(),
                              trials=self.trials.value(), timeout=timeout, objectives=self.objective_names(),
                              limits=limits, sampler=self.sampler.currentText(), pruner=self.pruner.currentText(),
                              workers=self.workers.value(), storage=self.storage(), root=self.folder(),
                              epochs=self.epochs.value(), device=self.device.currentText(), seed=self.seed.value())
        return config, problems + config.problems()

    def fill(self, *, study: str, root: Path, data: str, trials: int, epochs: int) -> None:
        """Set the fields a scripted run needs in one call (benchmarks, screenshots, tests)."""
        self.study.setText(study)
        self.root.setText(str(root))
        self.data.setText(data)
        self.trials.setValue(trials)
        self.epochs.setValue(epochs)

    def show_problems(self, problems: list[str]) -> None:
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))

    def show_study(self, name: str, root: Path, storage: str | None, identity: dict[str, Any]) -> None:
        """Show what a stored study searches and where it lives (to resume it with the same settings)."""
        self.study.setText(name)
        self.root.setText(str(root))
        self.url_choice.setChecked(storage is not None)
        self.embedded.setChecked(storage is None)
        self.url.setText(storage or "")
        self.data.setText(str(identity.get("data", self.data.text())))
        objectives = identity.get("objectives") or ["accuracy"]
        for key, box in self.objectives.items():
            box.setChecked(key in objectives)
        limits = identity.get("limits") or {}
        for key, edit in self.limits.items():
            edit.setText("" if key not in limits else f"{limits[key]:g}")
        if identity.get("epochs"):
            self.epochs.setValue(int(identity["epochs"]))
