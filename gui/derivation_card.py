"""The derivation card: why the selected layer's numbers are what they are (``analysis.derive``), formula
beside formula-with-numbers. It follows the block selected in the editor and the layer picked in the
analysis table; it draws the steps the analysis derives and computes nothing itself."""

from __future__ import annotations

import html
from typing import Any

from PyQt6.QtCore import QSignalBlocker
from PyQt6.QtWidgets import QComboBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from analysis import derive
from analysis.records import Report
from arch.dims import dims
from arch.errors import ConvSmithError
from gui.session import Hub

STYLE = ("<style>td{padding:2px 8px;vertical-align:top} .f{font-family:monospace;color:#444} "
         ".n{font-family:monospace} .q{font-weight:600} .note{color:#8a5a00}</style>")


def card_html(d: derive.Derivation) -> str:
    rows = "".join(
        f"<tr><td class='q'>{html.escape(s.quantity)}</td><td><span class='f'>{html.escape(s.formula)}</span><br>"
        f"<span class='n'>= {html.escape(s.working)}</span></td></tr>" for s in d.steps)
    shape = " &rarr; ".join(html.escape(dims(s) or "-") for s in (d.in_shape, d.out_shape))
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in d.notes)
    return (f"{STYLE}<h3>{html.escape(d.layer)}</h3><p>{html.escape(d.op)} in {html.escape(d.block)}: {shape}</p>"
            f"<table>{rows}</table>{notes}")


class DerivationCard(QWidget):
    """Layer picker (the selected block's layers) and the derivation of the chosen one."""

    def __init__(self, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.report: Report | None = None
        self._stale = True
        self._on_screen = True
        self._html = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.layer = QComboBox()
        self.layer.setToolTip("a layer of the selected block")
        self.layer.currentIndexChanged.connect(self._show)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.empty = QLabel("Select a block or a layer to see how its numbers are derived.")
        self.empty.setWordWrap(True)
        layout.addWidget(self.layer)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.empty)
        hub.evaluated.connect(self.show_evaluation)
        hub.selected.connect(self.show_block)

    def show_evaluation(self, evaluation: Any) -> None:
        self.report = evaluation.shown if evaluation is not None else None
        self.show_block(self.hub.selection)

    def set_on_screen(self, on: bool) -> None:
        """Told by the dock: a tabbed dock behind another tab stays isVisible() but is not on screen."""
        self._on_screen = on
        if on and self._stale:
            self.show_block(self.hub.selection)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._stale:
            self.show_block(self.hub.selection)

    def show_block(self, path: str) -> None:
        """The layers of block ``path`` (every layer when none is selected).

        A hidden card (its dock tab not raised) only notes that it is stale: laying out its HTML on every
        edit would cost the designer most of a frame for nothing on screen."""
        self._stale = not (self.isVisible() and self._on_screen)
        if self._stale:
            return
        current = self.layer.currentData()
        names: list[str] = []
        if self.report is not None:
            try:
                names = derive.layers_of(self.report, path or None)
            except ConvSmithError:
                names = []
        with QSignalBlocker(self.layer):
            self.layer.clear()
            for name in names:
                r = self.report.layer(name)
                self.layer.addItem(f"{name}  ({r.type})", name)
            index = self.layer.findData(current)
            self.layer.setCurrentIndex(index if index >= 0 else 0)
        self._show()

    def set_layer(self, name: str) -> None:
        index = self.layer.findData(name)
        if index < 0 and self.report is not None and name in self.report._layers:
            self.show_block(self.report.layer(name).block)
            index = self.layer.findData(name)
        if index >= 0:
            self.layer.setCurrentIndex(index)

    def _show(self, *_: Any) -> None:
        name = self.layer.currentData()
        if self.report is None or name is None:
            self._html = ""
            self.text.clear()
            self.empty.show()
            return
        self.empty.hide()
        html = card_html(derive.derive(self.report, name))
        if html != self._html:  # an edit elsewhere leaves this layer's card as it was
            self._html = html
            self.text.setHtml(html)


def install(page: Any, hub: Hub) -> DerivationCard:
    """A "Derivation" dock on the design page, tabbed with the receptive-field view; the analysis table's
    picked layer is shown in it."""
    from PyQt6.QtWidgets import QDockWidget

    card = DerivationCard(hub)
    dock = QDockWidget("Derivation", page)
    dock.setObjectName("dock-derivation")
    dock.setWidget(card)
    page.addDockWidget(page.dockWidgetArea(page.docks["rf"]), dock)
    page.tabifyDockWidget(page.docks["rf"], dock)
    page.docks["derivation"] = dock
    dock.visibilityChanged.connect(card.set_on_screen)
    page.analysis.layer_chosen.connect(card.set_layer)
    return card
