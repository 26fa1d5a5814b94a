"""One editor widget per field kind, made from the field's declaration (range, choices, nullability).

Every editor emits ``committed(value)`` when the person finishes an edit (Enter, focus out, a step,
a pick) with the value in the spec's JSON form; the inspector turns it into an undoable edit.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QSignalBlocker, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QValidator
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from arch.fields import PADDING_WORDS, Field, as_pair, show
from gui.widgets import ERROR_COLOUR

INT_LIMIT = 2**31 - 1


class FieldEditor(QWidget):
    """Base: a row of widgets with one value."""

    committed = pyqtSignal(object)
    refused = pyqtSignal(str)  # a value typed outside the declared range: the reason (nothing is committed)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.error: str | None = None

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        """Show a value without emitting ``committed``."""
        raise NotImplementedError

    def set_error(self, message: str | None) -> None:
        """Mark the editor red (the inspector prints the reason below it)."""
        if message == self.error:
            return  # style sheets are costly to re-apply: only on a change
        self.error = message
        self.setStyleSheet(f"QSpinBox, QDoubleSpinBox, QComboBox, QLineEdit {{ border: 1px solid {ERROR_COLOUR}; }}"
                           if message else "")

    def problem(self) -> str | None:
        """Why the value shown cannot be committed (typed out of range), or None."""
        return None

    def _commit(self, *_: Any) -> None:
        reason = self.problem()
        if reason is None:
            self.committed.emit(self.value())
        else:
            self.refused.emit(reason)


class Bounded:
    """A spin box that accepts any number typed (so 65 is not silently cut to 6) and keeps the declared
    range for its arrows; ``out_of_range`` says what is wrong with a typed value."""

    lo: float | None = None
    hi: float | None = None

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt override)
        target = self.value() + steps * self.singleStep()  # type: ignore[attr-defined]
        if self.lo is not None:
            target = max(target, self.lo)
        if self.hi is not None:
            target = min(target, self.hi)
        self.setValue(target)  # type: ignore[attr-defined]

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return self._declared(super().sizeHint())  # type: ignore[misc]

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self._declared(super().minimumSizeHint())  # type: ignore[misc]

    def _declared(self, size: QSize) -> QSize:
        """As wide as the declared range needs (the box's own range is wider so that any number can be typed)."""
        metrics, kind = self.fontMetrics(), type(self.value())  # type: ignore[attr-defined]

        def widest(lo: float, hi: float) -> int:
            return max(metrics.horizontalAdvance(self.textFromValue(kind(v))) for v in (lo, hi))  # type: ignore

        lo = self.lo if self.lo is not None else self.minimum()  # type: ignore[attr-defined]
        hi = self.hi if self.hi is not None else self.maximum()  # type: ignore[attr-defined]
        size.setWidth(size.width() - widest(self.minimum(), self.maximum()) + widest(lo, hi))  # type: ignore
        return size

    def out_of_range(self) -> str | None:
        v = self.value()  # type: ignore[attr-defined]
        if self.lo is not None and v < self.lo:
            return f"must be at least {self.lo:g} (got {v:g})"
        if self.hi is not None and v > self.hi:
            return f"must be at most {self.hi:g} (got {v:g})"
        return None


class SpinBox(Bounded, QSpinBox):
    pass


def _spin(lo: float | None, hi: float | None) -> SpinBox:
    box = SpinBox()
    box.lo, box.hi = lo, hi
    box.setRange(-INT_LIMIT, INT_LIMIT)
    box.setKeyboardTracking(False)  # commit on Enter / focus out / step, not on every keystroke
    box.setAlignment(Qt.AlignmentFlag.AlignRight)
    box.setGroupSeparatorShown(True)
    return box


class IntEditor(FieldEditor):
    def __init__(self, lo: float | None, hi: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = _spin(lo, hi)
        self.row.addWidget(self.box)
        self.box.valueChanged.connect(self._commit)

    def value(self) -> int:
        return self.box.value()

    def problem(self) -> str | None:
        return self.box.out_of_range()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.box):
            self.box.setValue(int(value))


class _ShortFloat(Bounded, QDoubleSpinBox):
    """A float spin box that writes 0.25 and 1e-05, not 0.2500000000."""

    def textFromValue(self, v: float) -> str:  # noqa: N802 (Qt override)
        return f"{v:g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        stripped = text.strip()
        try:
            float(stripped)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            ok = stripped in ("", "-", ".", "-.") or stripped.lower().endswith(("e", "e-", "e+"))
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos


class FloatEditor(FieldEditor):
    def __init__(self, lo: float | None, hi: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = _ShortFloat()
        self.box.lo, self.box.hi = lo, hi
        self.box.setDecimals(12)
        self.box.setRange(-1e12, 1e12)
        self.box.setSingleStep(0.05 if hi is not None and hi <= 1 else 0.5)
        self.box.setKeyboardTracking(False)
        self.box.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.row.addWidget(self.box)
        self.box.valueChanged.connect(self._commit)

    def value(self) -> float:
        return float(self.box.value())

    def problem(self) -> str | None:
        return self.box.out_of_range()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.box):
            self.box.setValue(float(value))


class BoolEditor(FieldEditor):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QCheckBox()
        self.row.addWidget(self.box)
        self.box.toggled.connect(self._commit)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.box):
            self.box.setChecked(bool(value))


class ChoiceEditor(FieldEditor):
    def __init__(self, choices: tuple[Any, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices = choices
        self.box = QComboBox()
        for c in choices:
            self.box.addItem(str(c))
        self.row.addWidget(self.box)
        self.box.activated.connect(self._commit)  # a person's pick, not a programmatic change

    def value(self) -> Any:
        return self.choices[self.box.currentIndex()]

    def set_value(self, value: Any) -> None:
        for i, c in enumerate(self.choices):
            if c == value and type(c) is type(value):
                self.box.setCurrentIndex(i)
                return


class IntsEditor(FieldEditor):
    """Several integers side by side: [h, w] pairs (optionally linked) and the CxHxW input."""

    def __init__(self, names: tuple[str, ...], lo: float | None, hi: float | None, linked: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.boxes = []
        for i, name in enumerate(names):
            if i:
                self.row.addWidget(QLabel("×"))
            box = _spin(lo, hi)
            box.setToolTip(name)
            box.valueChanged.connect(self._changed)
            self.boxes.append(box)
            self.row.addWidget(box, 1)
        self.link: QToolButton | None = None
        if linked:
            self.link = QToolButton()
            self.link.setText("=")
            self.link.setCheckable(True)
            self.link.setChecked(True)
            self.link.setToolTip("linked: both sides take the same value")
            self.row.addWidget(self.link)

    def _changed(self, v: int) -> None:
        if self.link is not None and self.link.isChecked():
            for box in self.boxes:
                with QSignalBlocker(box):
                    box.setValue(v)
        self._commit()

    def problem(self) -> str | None:
        return next((f"{b.toolTip()} {r}" for b in self.boxes if (r := b.out_of_range())), None)

    def value(self) -> Any:
        values = [b.value() for b in self.boxes]
        if self.link is not None:
            return values[0] if values[0] == values[1] else values
        return values

    def set_value(self, value: Any) -> None:
        values = list(as_pair(value)) if self.link is not None else list(value)
        for box, v in zip(self.boxes, values):
            with QSignalBlocker(box):
                box.setValue(int(v))
        if self.link is not None:
            self.link.setChecked(values[0] == values[1])


class PaddingEditor(FieldEditor):
    """'auto' / 'same' / 'valid', or explicit [h, w] amounts."""

    EXPLICIT = "explicit"

    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItems([*PADDING_WORDS, self.EXPLICIT])
        self.amount = IntsEditor(("h", "w"), 0, f.max, linked=True)
        self.row.addWidget(self.mode)
        self.row.addWidget(self.amount, 1)
        self.mode.activated.connect(self._mode_picked)
        self.amount.committed.connect(self._commit)
        self.amount.refused.connect(self.refused)

    def _mode_picked(self) -> None:
        self.amount.setEnabled(self.mode.currentText() == self.EXPLICIT)
        self._commit()

    def value(self) -> Any:
        word = self.mode.currentText()
        return self.amount.value() if word == self.EXPLICIT else word

    def set_value(self, value: Any) -> None:
        explicit = not isinstance(value, str)
        self.mode.setCurrentText(self.EXPLICIT if explicit else value)
        self.amount.setEnabled(explicit)
        self.amount.set_value(value if explicit else 0)


class NullableEditor(FieldEditor):
    """A field that may be null: a 'null' box beside the editor (its doc says what null means)."""

    def __init__(self, inner: FieldEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inner = inner
        self.null = QCheckBox("null")
        self.row.addWidget(self.inner, 1)
        self.row.addWidget(self.null)
        self.null.toggled.connect(self._toggled)
        self.inner.committed.connect(self._commit)
        self.inner.refused.connect(self.refused)

    def _toggled(self, on: bool) -> None:
        self.inner.setEnabled(not on)
        self._commit()

    def value(self) -> Any:
        return None if self.null.isChecked() else self.inner.value()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.null):
            self.null.setChecked(value is None)
        self.inner.setEnabled(value is not None)
        if value is not None:
            self.inner.set_value(value)


class TextEditor(FieldEditor):
    """Names, labels, descriptions: committed when editing finishes and the text changed."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QLineEdit()
        self.box.setPlaceholderText(placeholder)
        self.row.addWidget(self.box)
        self._shown = ""
        self.box.editingFinished.connect(self._finished)

    def _finished(self) -> None:
        if self.box.text() != self._shown:
            self._commit()

    def value(self) -> str:
        return self.box.text()

    def set_value(self, value: Any) -> None:
        self._shown = str(value)
        self.box.setText(self._shown)


def editor_for(f: Field) -> FieldEditor:
    """The editor of a scalar field kind (int, float, bool, choice, pair, padding)."""
    if f.kind == "int":
        editor: FieldEditor = IntEditor(f.min, f.max)
    elif f.kind == "float":
        editor = FloatEditor(f.min, f.max)
    elif f.kind == "bool":
        editor = BoolEditor()
    elif f.kind == "choice":
        editor = ChoiceEditor(f.choices)
    elif f.kind == "pair":
        editor = IntsEditor(("h", "w"), f.min, f.max, linked=True)
    elif f.kind == "padding":
        editor = PaddingEditor(f)
    else:
        raise ValueError(f"field kind {f.kind} has no scalar editor")
    if f.nullable:
        editor = NullableEditor(editor)
    editor.setToolTip(f"{f.doc} ({f.describe()}; default {show(f.default)})")
    return editor
