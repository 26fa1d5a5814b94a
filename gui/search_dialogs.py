"""Dialogs that declare what a search varies: a range or a list of choices for one field, and the block
families a slot may take. Both check the whole search space live (``search_edits.set_search``) and
only let OK through for a valid declaration."""

from __future__ import annotations

import json
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from arch.errors import SpecError
from arch.fields import Field, show, to_json
from arch.paths import get_block
from arch.registry import families
from arch.spec import Spec
from gui.search_edits import current_value, searchable_field, set_search, slot_declaration
from gui.widgets import ErrorLabel


def _number(text: str, integer: bool) -> int | float:
    value = float(text)
    if integer:
        if not value.is_integer():
            raise ValueError(f"{text} is not an integer")
        return int(value)
    return value


def default_declaration(f: Field, value: Any) -> dict[str, Any]:
    """A first proposal around the current value: half to double a number, every option of a choice."""
    if f.kind == "choice":
        return {"choices": list(f.choices)}
    if f.kind == "bool":
        return {"choices": [False, True]}
    if f.kind in ("int", "float") and isinstance(value, (int, float)) and value > 0:
        lo, hi = value / 2, value * 2
        if f.kind == "int":
            lo, hi = max(1, int(lo)), int(hi)
        lo = max(lo, f.min) if f.min is not None else lo
        hi = min(hi, f.max) if f.max is not None else hi
        return {f.kind: [lo, hi]}
    if f.kind == "float":
        return {"float": [f.min if f.min is not None else 0.0, f.max if f.max is not None else 1.0]}
    return {"choices": [to_json(value)]}


class _Checked(QDialog):
    """A dialog whose OK is enabled only while ``declaration()`` is valid for the spec."""

    def __init__(self, spec: Spec, name: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec, self.name = spec, name
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.message = ErrorLabel()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.layout_ = QVBoxLayout(self)

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.message)
        self.layout_.addWidget(self.buttons)
        self.check()

    def declaration(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self) -> bool:
        """Validate the declaration against the whole space; show why not and gate OK."""
        try:
            set_search(self.spec, self.name, self.declaration())
            problem = ""
        except (ValueError, json.JSONDecodeError) as e:
            problem = str(e)
        except SpecError as e:
            problem = "\n".join(str(p) for p in e.problems)
        self.message.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)
        return not problem


class RangeDialog(_Checked):
    """A range (low, high, optional step, log scale) or a list of choices for one field."""

    def __init__(self, spec: Spec, name: str, parent: QWidget | None = None) -> None:
        self.field = f = searchable_field(spec, name)
        super().__init__(spec, name, f"Search {name}", parent)
        value = current_value(spec, name)
        decl = spec.search.get(name) or default_declaration(f, value)
        head = QLabel(f"<b>{name}</b>: {f.doc} — {f.describe()}; now {show(value)}")
        head.setWordWrap(True)
        self.layout_.addWidget(head)
        self.is_range = QRadioButton("a range")
        self.is_choices = QRadioButton("choices")
        group = QButtonGroup(self)
        group.addButton(self.is_range)
        group.addButton(self.is_choices)
        ranged = f.kind in ("int", "float", "pair")
        self.is_range.setEnabled(ranged)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._range_page(decl))
        self.stack.addWidget(self._choices_page(decl, value))
        self.layout_.addWidget(self.is_range)
        self.layout_.addWidget(self.is_choices)
        self.layout_.addWidget(self.stack)
        use_range = ranged and "choices" not in decl
        (self.is_range if use_range else self.is_choices).setChecked(True)
        self.stack.setCurrentIndex(0 if use_range else 1)
        self.is_range.toggled.connect(lambda on: (self.stack.setCurrentIndex(0 if on else 1), self.check()))
        self.finish_layout()

    def _range_page(self, decl: dict[str, Any]) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        bounds = decl.get("int") or decl.get("float") or ["", ""]
        self.low, self.high = QLineEdit(str(bounds[0])), QLineEdit(str(bounds[1]))
        self.step = QLineEdit("" if decl.get("step") is None else str(decl["step"]))
        self.step.setPlaceholderText("none (every value)")
        self.log = QCheckBox("logarithmic (e.g. learning rates)")
        self.log.setChecked(bool(decl.get("log")))
        form.addRow("low", self.low)
        form.addRow("high", self.high)
        form.addRow("step", self.step)
        form.addRow("", self.log)
        for edit in (self.low, self.high, self.step):
            edit.textEdited.connect(lambda _t: self.check())
        self.log.toggled.connect(lambda _on: self.check())
        return page

    def _choices_page(self, decl: dict[str, Any], value: Any) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        f = self.field
        self.options: QListWidget | None = None
        self.values: QLineEdit | None = None
        chosen = decl.get("choices") or [to_json(value)]
        if f.kind in ("choice", "bool"):
            self.options = QListWidget()
            for c in (f.choices if f.kind == "choice" else (False, True)):
                item = QListWidgetItem(show(c))
                item.setData(Qt.ItemDataRole.UserRole, c)
                item.setCheckState(Qt.CheckState.Checked if c in chosen else Qt.CheckState.Unchecked)
                self.options.addItem(item)
            self.options.itemChanged.connect(lambda _i: self.check())
            v.addWidget(self.options)
        else:
            self.values = QLineEdit(", ".join(json.dumps(c) for c in chosen))
            self.values.setFont(QFont("monospace"))
            self.values.setToolTip('values separated by commas, written as in the spec: 3, 5, [1, 7] or "same"')
            self.values.textEdited.connect(lambda _t: self.check())
            v.addWidget(QLabel("values, separated by commas (as in the spec: 3, 5, [1, 7])"))
            v.addWidget(self.values)
        return page

    def declaration(self) -> dict[str, Any]:
        if self.is_range.isChecked():
            integer = self.field.kind in ("int", "pair")
            decl: dict[str, Any] = {"int" if integer else "float": [_number(self.low.text(), integer),
                                                                   _number(self.high.text(), integer)]}
            if self.step.text().strip():
                decl["step"] = _number(self.step.text(), integer)
            if self.log.isChecked():
                decl["log"] = True
            return decl
        if self.options is not None:
            return {"choices": [self.options.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.options.count())
                                if self.options.item(i).checkState() == Qt.CheckState.Checked]}
        assert self.values is not None
        return {"choices": json.loads(f"[{self.values.text()}]")}


class SlotDialog(_Checked):
    """The block families a top-level block may take (its own stays first: the base network)."""

    def __init__(self, spec: Spec, path: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, path, f"Search the family of {path}", parent)
        current = get_block(spec, path).block
        taken = {b["block"] for b in spec.search.get(path, {}).get("blocks", [])} or {current}
        head = QLabel(f"<b>{path}</b> is a {current}. Each trial picks one of the ticked families; fields both "
                      "families have keep their values, and each alternative can be refined in the spec's search "
                      "section.")
        head.setWordWrap(True)
        self.layout_.addWidget(head)
        self.list = QListWidget()
        for fam in families():
            if fam.name == "stage":
                continue
            item = QListWidgetItem(f"{fam.title} ({fam.name})")
            item.setData(Qt.ItemDataRole.UserRole, fam.name)
            item.setToolTip(fam.doc)
            item.setCheckState(Qt.CheckState.Checked if fam.name in taken else Qt.CheckState.Unchecked)
            if fam.name == current:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable & ~Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(item)
        self.list.itemChanged.connect(lambda _i: self.check())
        self.layout_.addWidget(self.list)
        self.finish_layout()

    def chosen(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def set_chosen(self, names: list[str]) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsEnabled:
                item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in names
                                   else Qt.CheckState.Unchecked)

    def declaration(self) -> dict[str, Any]:
        return slot_declaration(self.spec, self.name, self.chosen())
