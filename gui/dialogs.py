"""Every question the window asks a person, in one replaceable object: tests (and scripts) pass their
own answers instead of clicking modal dialogs.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QFileDialog, QMessageBox, QWidget

SPEC_FILTER = "ConvSmith specs (*.json);;All files (*)"


class Dialogs:
    def open_path(self, parent: QWidget, title: str, filter: str = SPEC_FILTER) -> str | None:
        path, _ = QFileDialog.getOpenFileName(parent, title, "", filter)
        return path or None

    def save_path(self, parent: QWidget, title: str, suggested: str, filter: str = SPEC_FILTER) -> str | None:
        path, _ = QFileDialog.getSaveFileName(parent, title, suggested, filter)
        return path or None

    def confirm_discard(self, parent: QWidget, name: str) -> str:
        """'save', 'discard' or 'cancel' for a document with unsaved changes."""
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                   | QMessageBox.StandardButton.Cancel)
        answer = QMessageBox.question(parent, "Unsaved changes", f"Save the changes to {name}?", buttons,
                                      QMessageBox.StandardButton.Save)
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(answer, "cancel")

    def ask_running(self, parent: QWidget, running: str, action: str) -> str:
        """'background', 'stop' or 'cancel': training of ``running`` goes on while the person ``action``s
        (switches to another document, closes it, closes the window)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Training is running",
                          f"{running} is training. What should happen to the run when you {action}?",
                          QMessageBox.StandardButton.NoButton, parent)
        keep = box.addButton("Keep training in the background", QMessageBox.ButtonRole.AcceptRole)
        stop = box.addButton("Stop the run", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return {id(keep): "background", id(stop): "stop"}.get(id(box.clickedButton()), "cancel")

    def ask_restore(self, parent: QWidget, names: list[str]) -> bool:
        listed = "\n".join(f"  • {n}" for n in names)
        answer = QMessageBox.question(
            parent, "Restore unsaved work?",
            f"ConvSmith did not close normally. Unsaved changes were recovered for:\n{listed}\n\nRestore them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def error(self, parent: QWidget, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text.split("\n", 1)[0], QMessageBox.StandardButton.Ok,
                          parent)
        if "\n" in text:
            box.setInformativeText(text.split("\n", 1)[1])
        box.exec()

    def info(self, parent: QWidget, title: str, text: str) -> None:
        QMessageBox.information(parent, title, text)
