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
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arch.options import Option, option_map
from arch.spec import Spec
from gui.places import absolute
from gui.widgets import ErrorLabel
from search.config import (
    MULTI_PRUNERS,
    OBJECTIVES,
    SINGLE_PRUNERS,
    Limits,
    SearchConfig,
    parse_number,
)
from search.storage import STORAGE_HELP, split_password, with_password
from training.errors import DataError
from training.source import parse_source

OPTIONS = option_map(SearchConfig)  # ranges, defaults and tooltips of the form's fields (search/config.py)
LIMITS = option_map(Limits)


def _spin(o: Option) -> QSpinBox:
    """A spin box holding an integer option's declared range and default."""
    box = QSpinBox()
    box.setRange(int(o.min or 0), int(o.max or 2**31 - 1))
    box.setValue(o.default)
    box.setToolTip(o.help())
    return box


def _combo(o: Option) -> QComboBox:
    box = QComboBox()
    box.addItems([str(c) for c in o.choices])
    box.setCurrentText(str(o.default))
    box.setToolTip(o.help())
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
        self.password = QLineEdit()  # kept out of the URL field: never shown on screen
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.password.setToolTip("the database password (a password typed into the URL moves here)")
        self.password.setMaximumWidth(140)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url_choice)
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.password)
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
        for key, o in LIMITS.items():
            edit = QLineEdit()
            edit.setPlaceholderText(o.none)
            edit.setToolTip(o.help() + "; checked before training, infeasible candidates are never trained")
            self.limits[key] = edit
            g.addRow(key, edit)
        layout.addWidget(goals)

        run = QGroupBox("Sampler and budget")
        r = QFormLayout(run)
        self.sampler = _combo(OPTIONS["sampler"])
        self.pruner = QComboBox()
        self.trials = _spin(OPTIONS["trials"])
        self.timeout = QLineEdit()
        self.timeout.setPlaceholderText(OPTIONS["timeout"].none)
        self.timeout.setToolTip(OPTIONS["timeout"].help())
        self.workers = _spin(OPTIONS["workers"])
        self.epochs = _spin(OPTIONS["epochs"])
        self.device = _combo(OPTIONS["device"])
        self.seed = _spin(OPTIONS["seed"])
        for label, w in (("sampler", self.sampler), ("pruner", self.pruner), ("trials", self.trials),
                         ("timeout (s)", self.timeout), ("workers", self.workers), ("epochs per trial", self.epochs),
                         ("device", self.device), ("seed", self.seed)):
            r.addRow(label, w)
        layout.addWidget(run)
        self.problems = ErrorLabel()
        layout.addWidget(self.problems)
        self._pruners()

        for box in self.objectives.values():
            box.toggled.connect(lambda _on: (self._pruners(), self.changed.emit()))
        for edit in (self.study, self.root, self.url, self.password, self.data, self.timeout,
                     *self.limits.values()):
            edit.textEdited.connect(lambda _t: self.changed.emit())
        self.url.editingFinished.connect(lambda: self._show_url(self.storage() or ""))
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
        """The URL with its password (typed in the URL or in the password field)."""
        url = self.url.text().strip()
        if not url or not self.url_choice.isChecked():
            return None
        bare, typed = split_password(url)
        return with_password(bare, typed or self.password.text())

    def _show_url(self, url: str) -> None:
        """The URL without its password, which goes to the masked field."""
        bare, password = split_password(url)
        self.url.setText(bare)
        if password:
            self.password.setText(password)

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
                problems.append(f"{key}: {e}")
                continue
            values[key] = int(v) if LIMITS[key].kind == "int" else v
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
        self.password.clear()
        self._show_url(storage or "")
        self.data.setText(str(identity.get("data", self.data.text())))
        objectives = identity.get("objectives") or ["accuracy"]
        for key, box in self.objectives.items():
            box.setChecked(key in objectives)
        limits = identity.get("limits") or {}
        for key, edit in self.limits.items():
            edit.setText("" if key not in limits else f"{limits[key]:g}")
        if identity.get("epochs"):
            self.epochs.setValue(int(identity["epochs"]))
