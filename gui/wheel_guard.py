"""Scrolling a form never changes a value by accident: a wheel over a spin box or a drop-down that does
not have focus scrolls the form around it (the field changes once it is clicked or tabbed into).

One application-wide event filter, so every form (inspector, training, search, dataset) behaves alike.
"""

from __future__ import annotations

import atexit

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget

VALUE_FIELDS = (QAbstractSpinBox, QComboBox)


def _field_of(obj: QObject) -> QWidget | None:
    """The spin box or drop-down ``obj`` is (or is inside: a spin box's line edit)."""
    w = obj if isinstance(obj, QWidget) else None
    for _ in range(2):
        if w is None:
            return None
        if isinstance(w, VALUE_FIELDS):
            return w
        w = w.parentWidget()
    return None


class WheelGuard(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(obj, VALUE_FIELDS):
            obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel gives no focus
        elif kind == QEvent.Type.Wheel:
            field = _field_of(obj)
            if field is not None and not field.hasFocus():
                area = field.parentWidget()
                while area is not None and not isinstance(area, QAbstractScrollArea):
                    area = area.parentWidget()
                if area is not None:
                    QApplication.sendEvent(area.verticalScrollBar(), event)
                return True
        return False


def install(app: QApplication) -> WheelGuard:
    """Install once per application (idempotent); returns the filter."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
        # Python code must not run as a filter while the interpreter tears the application down (segfault).
        atexit.register(_uninstall, app, guard)
    return guard


def _uninstall(app: QApplication, guard: WheelGuard) -> None:
    try:
        app.removeEventFilter(guard)
    except RuntimeError:  # the application is already gone
        pass
