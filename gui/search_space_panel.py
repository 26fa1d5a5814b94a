"""The search space of the current document: what its ``search`` section varies, its size, and the
actions that change it — "Make searchable…" on any inspector field (right-click its label), a block-family
choice for a top-level block, training knobs. Every change is one undoable edit of the spec, so the space
is saved with the spec and undone like any other edit."""

from __future__ import annotations

import json
from typing import Any

from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGridLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from arch.errors import SpecError
from arch.fields import show
from arch.search_space import TRAIN_KNOBS
from arch.spec import Spec
from gui.evaluation import Evaluation
from gui.search_dialogs import RangeDialog, SlotDialog
from gui.search_edits import searchable_field, set_search, slot_name, space_summary
from gui.session import Hub
from gui.widgets import ErrorLabel

NAME = Qt.ItemDataRole.UserRole


def describe(decl: Any) -> str:
    """One line for a declaration: '[16, 64] step 16', '{3, 5}', 'family: conv | residual'."""
    if not isinstance(decl, dict):
        return show(decl)
    if "blocks" in decl:
        return "family: " + " | ".join(str(b.get("block")) for b in decl["blocks"] if isinstance(b, dict))
    if "choices" in decl:
        return "{" + ", ".join(json.dumps(c) for c in decl["choices"]) + "}"
    kind = "int" if "int" in decl else "float"
    lo, hi = decl.get(kind, ["?", "?"])
    step = f" step {decl['step']:g}" if isinstance(decl.get("step"), (int, float)) else ""
    return f"{kind} [{lo:g}, {hi:g}]{step}{' log' if decl.get('log') else ''}"


class SpacePanel(QWidget):
    def __init__(self, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["searched", "over"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setMinimumHeight(110)
        self.tree.setToolTip("double-click to edit; right-click a field's label in the inspector to add one")
        self.edit_button = QPushButton("Edit…")
        self.remove_button = QPushButton("Remove")
        self.slot_button = QPushButton("Block family…")
        self.slot_button.setToolTip("let each trial pick the family of the selected top-level block")
        self.knobs = QToolButton()
        self.knobs.setText("Training knob")
        self.knobs.setToolTip("search a training hyperparameter (learning rate, batch size, ...)")
        self.knobs.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        knob_menu = QMenu(self.knobs)
        for name, f in TRAIN_KNOBS.items():
            knob_menu.addAction(f"{name}: {f.doc}", lambda n=f"train.{name}": self.edit(n))
        self.knobs.setMenu(knob_menu)
        buttons = QGridLayout()
        for i, b in enumerate((self.edit_button, self.remove_button, self.slot_button, self.knobs)):
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(b, i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self.message = ErrorLabel()
        self.message.hide()
        layout.addWidget(self.message)
        self._shown: dict[str, Any] | None = None
        self.edit_button.clicked.connect(lambda: self.selected() and self.edit(self.selected()))
        self.remove_button.clicked.connect(lambda: self.selected() and self.remove(self.selected()))
        self.slot_button.clicked.connect(self._slot_for_selection)
        self.tree.itemDoubleClicked.connect(lambda item, _c: self.edit(item.data(0, NAME)))
        self.tree.itemSelectionChanged.connect(self._buttons)
        hub.evaluated.connect(self.show_evaluation)
        hub.selected.connect(lambda _p: self._buttons())
        if hub.evaluation is not None:
            self.show_evaluation(hub.evaluation)

    # ------------------------------------------------------------------ view
    def spec(self) -> Spec | None:
        ev = self.hub.evaluation
        return ev.spec if ev is not None else None

    def show_evaluation(self, ev: Evaluation) -> None:
        search = ev.spec.search
        self.summary.setText(f"<b>{ev.spec.name}</b>: {space_summary(ev.spec)}")
        if search == self._shown:
            return
        self._shown = json.loads(json.dumps(search))
        selected = self.selected()
        self.tree.clear()
        for name, decl in search.items():
            item = QTreeWidgetItem([name, describe(decl)])
            item.setData(0, NAME, name)
            item.setToolTip(1, json.dumps(decl))
            self.tree.addTopLevelItem(item)
            item.setSelected(name == selected)
        self._buttons()

    def selected(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, NAME) if items else None

    def _buttons(self) -> None:
        on = self.selected() is not None
        self.edit_button.setEnabled(on)
        self.remove_button.setEnabled(on)
        self.slot_button.setEnabled(slot_name(self.hub.selection) is not None)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ------------------------------------------------------------------ actions
    def apply(self, name: str, decl: dict[str, Any] | None) -> bool:
        """Declare / remove through the undo stack; the error is shown when the space would be invalid."""
        error = self.hub.apply(set_search, name, decl)
        self._say("" if error is None else "\n".join(str(p) for p in error.problems))
        return error is None

    def remove(self, name: str) -> bool:
        return self.apply(name, None)

    def dialog(self, name: str) -> QDialog | None:
        """The editor for ``name`` (a slot for ``body[i]``), or None with the reason shown."""
        spec = self.spec()
        if spec is None:
            return None
        if slot_name(name) == name:
            return SlotDialog(spec, name, self)
        try:
            return RangeDialog(spec, name, self)
        except SpecError as e:
            self._say("\n".join(str(p) for p in e.problems))
            return None

    def edit(self, name: str) -> bool:
        dialog = self.dialog(name)
        if dialog is None or dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        return self.apply(name, dialog.declaration())

    def _slot_for_selection(self) -> None:
        path = slot_name(self.hub.selection)
        if path is not None:
            self.edit(path)

    def field_menu(self, path: str, where: QPoint) -> None:
        """The inspector's right-click on a field: make it searchable, edit or remove its search."""
        menu = self.menu_for(path)
        if menu is not None:
            menu.exec(where)

    def menu_for(self, path: str) -> QMenu | None:
        spec = self.spec()
        if spec is None:
            return None
        menu = QMenu(self)
        declared = path in spec.search
        try:
            searchable_field(spec, path)
            why = ""
        except SpecError as e:
            why = e.problems[0].message
        act = menu.addAction("Edit search…" if declared else "Make searchable…", lambda: self.edit(path))
        if why:
            act.setEnabled(False)
            act.setText(f"Make searchable… ({why})")
        if declared:
            menu.addAction("Stop searching this field", lambda: self.remove(path))
        slot = slot_name(path)
        if slot is not None:
            menu.addSeparator()
            menu.addAction(("Edit" if slot in spec.search else "Search") + f" the block family of {slot}…",
                           lambda: self.edit(slot))
            if slot in spec.search:
                menu.addAction(f"Stop searching the family of {slot}", lambda: self.remove(slot))
        return menu
