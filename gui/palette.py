"""The block palette: every registered family by category, and the templates; all from the registry.

Double-click (or Enter) adds a family after the selected block, or opens a template as a new
document; dragging a family onto the editor inserts it where it is dropped.
"""

from __future__ import annotations

from PyQt6.QtCore import QMimeData, Qt, pyqtSignal
from PyQt6.QtWidgets import QLineEdit, QStyle, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from arch.registry import CATEGORIES, families
from arch.templates import load_template, names

FAMILY_MIME = "application/x-convsmith-family"
ROLE = Qt.ItemDataRole.UserRole


class PaletteTree(QTreeWidget):
    """Tree whose family rows drag out as FAMILY_MIME."""

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt override)
        return [FAMILY_MIME]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:  # noqa: N802
        data = QMimeData()
        kind, name = items[0].data(0, ROLE) if items else ("", "")
        if kind == "family":
            data.setData(FAMILY_MIME, name.encode())
        return data


class Palette(QWidget):
    family_requested = pyqtSignal(str)  # add this family to the network
    template_requested = pyqtSignal(str)  # open this template as a new document

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter blocks and templates")
        self.filter.setClearButtonEnabled(True)
        self.tree = PaletteTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        self.tree.setRootIsDecorated(True)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.items: dict[tuple[str, str], QTreeWidgetItem] = {}
        self._fill()
        self.tree.itemActivated.connect(self._activated)
        self.filter.textChanged.connect(self._filter)

    def _fill(self) -> None:
        style = self.style()
        block_icon = style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        folder_icon = style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        groups: dict[str, QTreeWidgetItem] = {}
        for category in CATEGORIES:
            groups[category] = QTreeWidgetItem(self.tree, [category.capitalize()])
            groups[category].setIcon(0, folder_icon)
            groups[category].setFlags(Qt.ItemFlag.ItemIsEnabled)
        for fam in families():
            item = QTreeWidgetItem(groups[fam.category], [fam.title])
            item.setData(0, ROLE, ("family", fam.name))
            item.setIcon(0, block_icon)
            item.setToolTip(0, f"<b>{fam.title}</b> ({fam.name})<br>{fam.doc}")
            self.items[("family", fam.name)] = item
        templates = QTreeWidgetItem(self.tree, ["Templates"])
        templates.setIcon(0, folder_icon)
        templates.setFlags(Qt.ItemFlag.ItemIsEnabled)
        doc_icon = style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView)
        for name in names():
            spec = load_template(name)
            item = QTreeWidgetItem(templates, [f"{spec.name}"])
            item.setData(0, ROLE, ("template", name))
            item.setIcon(0, doc_icon)
            item.setToolTip(0, f"<b>{spec.name}</b> (template:{name}), input {'x'.join(map(str, spec.input))}"
                               f"<br>{spec.description}<br><i>double-click to open as a new document</i>")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.items[("template", name)] = item
        self.tree.expandAll()
        templates.setExpanded(False)

    def _activated(self, item: QTreeWidgetItem) -> None:
        data = item.data(0, ROLE)
        if not data:
            return
        kind, name = data
        (self.family_requested if kind == "family" else self.template_requested).emit(name)

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                child = group.child(j)
                _, name = child.data(0, ROLE)
                hit = not needle or needle in child.text(0).lower() or needle in name.lower()
                child.setHidden(not hit)
                shown += hit
            group.setHidden(shown == 0)
            if needle:
                group.setExpanded(True)
