"""The Compare page's Inspect view: the interpretation pictures kept in the compared runs' ``inspect/``
folders (``convsmith inspect`` and the Training tab's Inspect area write them), one chosen picture shown
side by side for every run that has it."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSignalBlocker
from PyQt6.QtGui import QPixmap
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget


def pictures(run_dir: Path | None) -> list[str]:
    """Names (``topk-body.2.conv-c3``) of the pictures kept in a run folder."""
    folder = run_dir / "inspect" if run_dir is not None else None
    return sorted(p.stem for p in folder.glob("*.png")) if folder is not None and folder.is_dir() else []


class InspectCompare(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[tuple[str, Path | None]] = []
        self.choice = QComboBox()
        self.choice.setToolTip("a picture computed for at least one of the compared runs")
        self.note = QLabel()
        self.row_widget = QWidget()
        self.row = QHBoxLayout(self.row_widget)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.row_widget)
        top = QHBoxLayout()
        top.addWidget(QLabel("Picture"))
        top.addWidget(self.choice, 1)
        v = QVBoxLayout(self)
        v.addLayout(top)
        v.addWidget(self.note)
        v.addWidget(scroll, 1)
        self.choice.currentIndexChanged.connect(self._draw)

    def show_runs(self, runs: list[tuple[str, Path | None]]) -> None:
        """(name, run folder or None) of every compared network; the picker lists what any of them has."""
        self.runs = runs
        names = sorted({n for _, path in runs for n in pictures(path)})
        keep = self.choice.currentText()
        with QSignalBlocker(self.choice):
            self.choice.clear()
            self.choice.addItems(names)
            if keep in names:
                self.choice.setCurrentText(keep)
        self.note.setText("" if names else "No interpretation pictures yet: compute some in the Training tab's "
                                           "Inspect area or with 'convsmith inspect RUN --method ...'.")
        self._draw()

    def _draw(self) -> None:
        while self.row.count():
            old = self.row.takeAt(0).widget()
            if old is not None:
                old.deleteLater()
        name = self.choice.currentText()
        if not name:
            return
        for title, path in self.runs:
            box = QWidget()
            v = QVBoxLayout(box)
            v.addWidget(QLabel(f"<b>{title}</b>"))
            picture = QLabel()
            file = path / "inspect" / f"{name}.png" if path is not None else None
            if file is not None and file.is_file():
                picture.setPixmap(QPixmap(str(file)))
            else:
                picture.setText("not computed for this run" if path is not None else "no training run")
            v.addWidget(picture)
            v.addStretch(1)
            self.row.addWidget(box)
        self.row.addStretch(1)
