"""The hyperparameter form of the training tab: a TrainConfig built from the designer's field editors and
checked by ``TrainConfig.problems`` on every change (the reasons shown under the form)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from gui.field_editors import BoolEditor, ChoiceEditor, FieldEditor, FloatEditor, IntEditor, NullableEditor
from training.config import DEVICES, OPTIMIZERS, SCHEDULES, TrainConfig


def _nullable(inner: FieldEditor, meaning: str) -> NullableEditor:
    editor = NullableEditor(inner)
    editor.null.setText(meaning)
    return editor


# TrainConfig field -> (editor factory, tooltip); the label is the field name, as in the CLI and config.json
ROWS: list[tuple[str, Callable[[], FieldEditor], str]] = [
    ("optimizer", lambda: ChoiceEditor(OPTIMIZERS), "optimizer"),
    ("lr", lambda: FloatEditor(1e-9, 100.0), "peak learning rate"),
    ("epochs", lambda: IntEditor(1, 1_000_000), "passes over the training split"),
    ("batch_size", lambda: IntEditor(1, 1 << 20), "images per step"),
    ("schedule", lambda: ChoiceEditor(SCHEDULES), "learning-rate schedule"),
    ("weight_decay", lambda: FloatEditor(0.0, 10.0), "weight decay"),
    ("momentum", lambda: FloatEditor(0.0, 0.999), "SGD momentum (sgd only)"),
    ("label_smoothing", lambda: FloatEditor(0.0, 0.9), "label smoothing of the training loss"),
    ("crop", lambda: _nullable(IntEditor(0, 256), "auto"),
     "augmentation: random-crop padding in pixels (auto: the data's default; 0: no crop)"),
    ("flip", lambda: _nullable(BoolEditor(), "auto"),
     "augmentation: random horizontal flip (auto: the data's default)"),
    ("device", lambda: ChoiceEditor(DEVICES), "auto: cuda, then mps, then cpu"),
    ("seed", lambda: IntEditor(0, 2**31 - 1), "seed of the initial weights, shuffling and augmentation"),
    ("threads", lambda: IntEditor(1, 1024), "CPU threads for training; by default one core is left to the window"),
    ("time_budget", lambda: _nullable(FloatEditor(0.01, 1e9), "none"),
     "seconds of training after which the run stops, evaluates and ends (none: no limit)"),
]


class TrainForm(QWidget):
    """``config()`` is the TrainConfig the fields describe (None with the problems shown when invalid)."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(form)
        self.editors: dict[str, FieldEditor] = {}
        self.tips: dict[str, str] = {}
        for name, make, tip in ROWS:
            editor = make()
            editor.setToolTip(tip)
            editor.committed.connect(lambda _v: self._changed())
            editor.refused.connect(lambda reason, n=name: self._refused(n, reason))
            form.addRow(name, editor)
            self.editors[name] = editor
            self.tips[name] = tip
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #c02020;")
        self.problems.hide()
        layout.addWidget(self.problems)
        self.base = TrainConfig(threads=max(1, (os.cpu_count() or 2) - 1))
        self.set_config(self.base)

    def set_config(self, config: TrainConfig) -> None:
        """Show a config's values (the fields not in the form are kept from it)."""
        self.base = config
        for name, editor in self.editors.items():
            editor.set_value(getattr(config, name))
        self._changed()

    def values(self) -> dict[str, Any]:
        return {name: editor.value() for name, editor in self.editors.items()}

    def candidate(self) -> TrainConfig:
        """The fields over the base config, not checked."""
        return replace(self.base, **self.values())

    def config(self) -> TrainConfig | None:
        cfg = self.candidate()
        return None if cfg.problems() else cfg

    def _refused(self, name: str, reason: str) -> None:
        """A value typed out of range: said under the form, and the field marked (nothing else changes)."""
        self.editors[name].set_error(reason)
        self.problems.setText(f"{name}: {reason}")
        self.problems.setVisible(True)

    def _changed(self) -> None:
        candidate = self.candidate()
        bad = candidate.problems()
        self.problems.setText("\n".join(bad))
        self.problems.setVisible(bool(bad))
        for name, editor in self.editors.items():
            editor.set_error(next((p for p in bad if p.startswith(name + ":")), None))
            reason = candidate.no_effect(name)  # greyed, the reason as tooltip (training.config.ONLY_WITH)
            if editor.isEnabled() != (reason is None):
                editor.setEnabled(reason is None)
                editor.setToolTip(reason or self.tips[name])
        self.changed.emit()
