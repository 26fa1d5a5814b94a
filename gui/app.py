"""Starting the desktop application (``convsmith gui``)."""

from __future__ import annotations

import sys

from arch.spec import resolve


def run(source: str | None = None) -> int:
    """Open the window on a spec file or ``template:NAME`` (a bad spec fails before any window opens)."""
    spec = resolve(source) if source else None
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from gui.startup import load

    app = QApplication.instance() or QApplication(sys.argv[:1])
    splash = load(app)  # the splash at once; torch and the window's code load behind it, with progress
    from gui.main_window import APP, ORG, MainWindow

    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    window = MainWindow()
    if spec is None:
        window.new_document()
    elif source.startswith("template:"):
        window.open_spec(spec)
    else:
        window.open_file(source)  # also lists it under recent files
    window.show()
    splash.finish(window)
    QTimer.singleShot(0, window.offer_recovery)
    return app.exec()
