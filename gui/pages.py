"""The pages beside the designer: Training, Search and Compare, added to the main window at start-up.

Each page sits in a scroll area: the pages are dense, and a window made smaller than a page scrolls it
instead of refusing to shrink (the designer's layout stays what the person made it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PyQt6.QtWidgets import QFrame, QScrollArea, QStyle, QWidget

if TYPE_CHECKING:
    from gui.compare_tab import CompareTab
    from gui.main_window import MainWindow
    from gui.search_tab import SearchTab
    from gui.training_tab import TrainingTab


@dataclass
class Pages:
    window: MainWindow
    training: TrainingTab
    search: SearchTab
    compare: CompareTab
    holders: dict[int, QScrollArea] = field(default_factory=dict)  # id(page) -> its scroll area in the window

    def add(self, page: QWidget, title: str, icon: QStyle.StandardPixmap) -> None:
        holder = QScrollArea()
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setWidget(page)
        self.holders[id(page)] = holder
        self.window.add_page(holder, title, self.window.style().standardIcon(icon))

    def show(self, page: QWidget) -> None:
        """Bring a page to the front."""
        self.window.pages.setCurrentWidget(self.holders[id(page)])

    def shutdown(self) -> None:
        """The window closes: a running training stops between steps and finalises its run directory; a
        running study goes on in its own process (reopening the window shows it)."""
        self.training.shutdown()
        self.search.shutdown()


def add_pages(window: MainWindow) -> Pages:
    from gui.compare_tab import CompareTab
    from gui.search_tab import SearchTab
    from gui.training_tab import TrainingTab

    pages = Pages(window, TrainingTab(window), SearchTab(window), CompareTab(window))
    sp = QStyle.StandardPixmap
    pages.add(pages.training, "Training", sp.SP_MediaPlay)
    pages.add(pages.search, "Search", sp.SP_FileDialogContentsView)
    pages.add(pages.compare, "Compare", sp.SP_FileDialogDetailedView)
    return pages
