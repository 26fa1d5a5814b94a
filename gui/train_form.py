"""The hyperparameter form of the training tab: one editor per training option, made from its declaration
(``arch/train_options.py``: range, choices, what null means), and the TrainConfig they describe checked by
``TrainConfig.problems`` on every change (the reasons shown under the form)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QFormLayout, QToolButton, QVBoxLayout, QWidget

from arch.options import Option, options_of
from gui.field_editors import FieldEditor, NullableEditor, TextEditor, editor_for
from gui.widgets import ErrorLabel
from training.config import TrainConfig


def option_editor(o: Option) -> FieldEditor:
    """The editor of one option: the field editor of its kind, null shown as the option's word for it."""
    editor = NullableEditor(TextEditor(o.also)) if o.kind == "text" else editor_for(o)
    if isinstance(editor, NullableEditor):
        editor.null.setText(o.none)
    editor.setToolTip(o.help())
    return editor


class TrainForm(QWidget):
    """``config()`` is the TrainConfig the fields describe (None with the problems shown when invalid)."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        main, more = QFormLayout(), QFormLayout()
        for form in (main, more):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.more = QWidget()
        self.more.setLayout(more)
        more.setContentsMargins(0, 0, 0, 0)
        self.more.hide()
        self.more_button = QToolButton()
        self.more_button.setText("More options")
        self.more_button.setCheckable(True)
        self.more_button.setToolTip("the other training options (momentum variants, warmup, clipping, precision, "
                                    "logging and snapshots)")
        self.more_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more_button.setArrowType(Qt.ArrowType.RightArrow)
        self.more_button.toggled.connect(self._show_more)
        layout.addLayout(main)
        layout.addWidget(self.more_button)
        layout.addWidget(self.more)
        self.editors: dict[str, FieldEditor] = {}
        self.tips: dict[str, str] = {}
        for o in options_of(TrainConfig):
            editor = option_editor(o)
            editor.committed.connect(lambda _v: self._changed())
            editor.refused.connect(lambda reason, n=o.name: self._refused(n, reason))
            (more if o.more else main).addRow(o.name, editor)
            self.editors[o.name] = editor
            self.tips[o.name] = editor.toolTip()
        self.problems = ErrorLabel()
        self.problems.hide()
        layout.addWidget(self.problems)
        self.base = TrainConfig(threads=max(1, (os.cpu_count() or 2) - 1))  # one core left to the window
        self.set_config(self.base)

    def _show_more(self, on: bool) -> None:
        self.more.setVisible(on)
        self.more_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def set_config(self, config: TrainConfig) -> None:
        """Show a config's values."""
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
            reason = candidate.no_effect(name)  # greyed, the reason as tooltip (the option's ``when``)
            if editor.isEnabled() != (reason is None):
                editor.setEnabled(reason is None)
                editor.setToolTip(reason or self.tips[name])
        self.changed.emit()
