"""The inspector: a form generated from the selected block's declared fields (nothing per family).

Stages get their unit's fields (with a family picker) and a "first repeat" section of optional
overrides; no selection shows the network's settings. A value the spec rejects stays visible, marked
red with the reason, and is not applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QPoint, QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from arch import paths
from arch.errors import SpecError
from arch.fields import KINDS, NESTED, Field
from arch.paths import get_block, get_value, top_index
from arch.registry import BlockFamily, families, family
from arch.spec import BlockSpec, Spec
from gui import edits
from gui.evaluation import Evaluation
from gui.field_editors import FieldEditor, FloatEditor, IntEditor, IntsEditor, TextEditor, editor_for
from gui.session import Hub
from gui.widgets import ErrorLabel

SCALAR_KINDS = tuple(k for k in KINDS if k not in NESTED)  # edited in a row of their own


def error_text(error: SpecError, path: str = "") -> str:
    """The problems of a refused edit; those of another field than ``path`` say which field."""
    return "\n".join(p.message if p.path == path else str(p) for p in error.problems)


@dataclass
class Binding:
    """How one row reads its value from a spec and writes it back as an edit."""

    read: Callable[[Spec], tuple[Any, bool]]  # (value, explicitly written)
    write: Callable[[Any], SpecError | None]
    reset: Callable[[], SpecError | None] | None = None
    no_effect: Callable[[Spec], str | None] | None = None  # why the field changes nothing now (greyed)


class FieldRow(QWidget):
    """An editor with its reset button and, below it, the reason a value was refused."""

    def __init__(self, path: str, editor: FieldEditor, binding: Binding, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path, self.editor, self.binding = path, editor, binding
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        line = QWidget()
        row = QHBoxLayout(line)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        self.reset = QToolButton()
        self.reset.setText("↺")
        self.reset.setToolTip("reset to the default")
        self.reset.setAutoRaise(True)
        self.reset.setVisible(binding.reset is not None)
        self.reset.clicked.connect(self._reset)
        row.addWidget(self.reset)
        layout.addWidget(line)
        self.message = ErrorLabel()
        self.message.hide()
        layout.addWidget(self.message)
        editor.committed.connect(self._write)
        editor.refused.connect(self.set_error)  # typed out of range: the reason, and nothing applied
        self.tip = editor.toolTip()

    def show_value(self, spec: Spec) -> bool:
        """Show the spec's value; returns whether it is written explicitly."""
        value, written = self.binding.read(spec)
        self.editor.set_value(value)
        if self.reset.isEnabled() != written:
            self.reset.setEnabled(written)
        self.set_error(None)
        reason = self.binding.no_effect(spec) if self.binding.no_effect is not None else None
        if self.editor.isEnabled() != (reason is None):
            self.editor.setEnabled(reason is None)
            self.editor.setToolTip(reason or self.tip)
        return written

    def set_error(self, message: str | None) -> None:
        self.editor.set_error(message)
        if self.message.text() != (message or ""):
            self.message.setText(message or "")
            self.message.setVisible(bool(message))

    def _write(self, value: Any) -> None:
        error = self.binding.write(value)
        self.set_error(error_text(error, self.path) if error else None)

    def _reset(self) -> None:
        if self.binding.reset is not None:
            error = self.binding.reset()
            self.set_error(error_text(error, self.path) if error else None)


class Inspector(QScrollArea):
    """Follows the hub's selection and evaluation."""

    field_menu = pyqtSignal(str, QPoint)  # a right-click on a field's label: its path, the global position

    def __init__(self, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._key: tuple[Any, ...] | None = None
        self.rows: dict[str, FieldRow] = {}
        self._labels: dict[str, QLabel] = {}
        self.problem = QLabel()
        self.subtitle: QLabel | None = None  # the header's second line: the network's name on its settings
        hub.evaluated.connect(lambda _e: self.refresh())
        hub.selected.connect(lambda _p: self.refresh())

    # ------------------------------------------------------------------ state
    def target(self) -> str:
        """The block the form edits: a stage repeat (``body[2][1]``) edits its stage; a block inside a branch's
        path (``body[3].paths[1][0]``, or a repeat of a stage there) edits that path block."""
        inner = paths.innermost_in_path(self.hub.selection or "")
        ev = self.hub.evaluation
        if inner and ev is not None:
            try:
                get_block(ev.spec, inner)
                return inner
            except SpecError:
                pass  # gone after an edit: the top-level block
        index = top_index(self.hub.selection)
        return "" if index is None else paths.body(index)

    def refresh(self) -> None:
        ev = self.hub.evaluation
        if ev is None:
            return
        target = self.target()
        if target and top_index(target) >= len(ev.spec.body):
            target = ""
        key = (target, *self._families(ev.spec, target))
        if key != self._key:
            self._build(ev, target)
            self._key = key
        self._show_values(ev, target)

    @staticmethod
    def _families(spec: Spec, path: str) -> list[str]:
        """The family chain of a block and its units: what decides the form's layout."""
        out: list[str] = []
        while path:
            bs = get_block(spec, path)
            out.append(bs.block)
            path = paths.field(path, "unit") if isinstance(bs.params.get("unit"), BlockSpec) else ""
        return out

    def _show_values(self, ev: Evaluation, target: str) -> None:
        for path, row in self.rows.items():
            written = row.show_value(ev.spec)
            label = self._labels.get(path)
            if label is not None and label.isEnabled() != row.editor.isEnabled():
                label.setEnabled(row.editor.isEnabled())  # greyed with its field, the reason as tooltip
                label.setToolTip(row.editor.toolTip())
            if label is not None and label.font().bold() != written:  # written fields in bold
                font = label.font()
                font.setBold(written)
                label.setFont(font)
        if not target and self.subtitle is not None and self.subtitle.text() != ev.spec.name:
            self.subtitle.setText(ev.spec.name)  # the current document's name, whichever document that is
        problems = ev.problems_at(target) if target else ev.problems
        text = "\n".join(str(p) for p in problems)
        if text != self.problem.text():
            self.problem.setText(text)
            self.problem.setVisible(bool(problems))

    # ------------------------------------------------------------------ build
    def _build(self, ev: Evaluation, target: str) -> None:
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()  # may be inside one of its own signals (a family pick)
        self.rows.clear()
        self._labels.clear()
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.problem = ErrorLabel(bold=True)
        self.problem.hide()
        if target:
            bs = get_block(ev.spec, target)
            fam = family(bs.block)
            layout.addWidget(self._header(fam.title, f"{target} · {fam.name}", fam.doc))
            self.subtitle = None
            layout.addWidget(self.problem)
            form = self._form(layout, None)
            label = TextEditor("optional label")
            self._add_row(form, "label", paths.field(target, "label"), label, Binding(
                lambda spec, p=target: (get_block(spec, p).label, bool(get_block(spec, p).label)),
                lambda v, p=target: self.hub.apply(edits.set_label, p, v)))
            self._add_fields(layout, form, target, fam)
        else:
            header = self._header("Network", ev.spec.name, "Settings of the whole network. Select a "
                                  "block in the editor or the diagram to edit it.")
            self.subtitle = header.findChild(QLabel, "subtitle")
            layout.addWidget(header)
            layout.addWidget(self.problem)
            self._add_settings(self._form(layout, None))
        self.setWidget(page)

    @staticmethod
    def _header(title: str, subtitle: str, doc: str) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 4)
        head = QLabel(title)
        font = head.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        head.setFont(font)
        sub = QLabel(subtitle)
        sub.setObjectName("subtitle")
        sub.setFont(QFont("monospace"))
        sub.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text = QLabel(doc)
        text.setWordWrap(True)
        text.setStyleSheet("color: palette(mid);")
        for w in (head, sub, text):
            v.addWidget(w)
        return box

    @staticmethod
    def _form(layout: QVBoxLayout, title: str | None) -> QFormLayout:
        holder: QWidget = QGroupBox(title) if title else QWidget()
        form = QFormLayout(holder)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        if not title:
            form.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(holder)
        return form

    def _add_row(self, form: QFormLayout, name: str, path: str, editor: FieldEditor, binding: Binding,
                 tip: str = "") -> FieldRow:
        row = FieldRow(path, editor, binding)
        label = QLabel(name)
        label.setToolTip(tip or editor.toolTip())
        label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)  # the search tab's "Make searchable"
        label.customContextMenuRequested.connect(
            lambda pos, p=path, w=label: self.field_menu.emit(p, w.mapToGlobal(pos)))
        form.addRow(label, row)
        self.rows[path] = row
        self._labels[path] = label
        return row

    def _add_fields(self, layout: QVBoxLayout, form: QFormLayout, path: str, fam: BlockFamily) -> None:
        """A row per scalar field; a section for a nested block and for first-repeat overrides."""
        for f in fam.fields:
            here = paths.field(path, f.name)
            if f.kind in SCALAR_KINDS:
                self._add_row(form, f.name, here, editor_for(f), Binding(
                    lambda spec, p=here: self._read(spec, p),
                    lambda v, p=here: self.hub.apply(edits.set_field, p, v),
                    lambda p=here: self.hub.apply(edits.reset_field, p),
                    (lambda spec, p=path, f=f: self._no_effect(spec, p, f)) if f.when else None))
        for f in fam.fields:
            if f.kind == "block":
                self._add_unit(layout, paths.field(path, f.name), f)
        for f in fam.fields:
            if f.kind == "overrides":
                self._add_overrides(layout, path, f)

    @staticmethod
    def _no_effect(spec: Spec, path: str, f: Field) -> str | None:
        bs = get_block(spec, path)
        return f.no_effect({g.name: bs.params.get(g.name, g.default) for g in family(bs.block).fields})

    @staticmethod
    def _read(spec: Spec, path: str) -> tuple[Any, bool]:
        block_path, name = path.rsplit(".", 1)
        return get_value(spec, path), name in get_block(spec, block_path).params

    def _add_unit(self, layout: QVBoxLayout, path: str, f: Field) -> None:
        ev = self.hub.evaluation
        assert ev is not None
        unit = get_block(ev.spec, path)
        form = self._form(layout, f"{f.name}: {f.doc}")
        picker = QComboBox()
        names = [fam.name for fam in families()]
        picker.addItems(names)
        picker.setCurrentText(unit.block)
        picker.setToolTip("the family of the repeated block; fields both families have are kept")
        picker.activated.connect(lambda i, p=path: self.hub.apply(edits.change_family, p, names[i]))
        form.addRow("family", picker)
        self._add_fields(layout, form, path, family(unit.block))

    def _add_overrides(self, layout: QVBoxLayout, path: str, f: Field) -> None:
        """Each scalar field of the unit, overridable in the first repeat only."""
        ev = self.hub.evaluation
        assert ev is not None
        unit_field = next(g for g in family(get_block(ev.spec, path).block).fields if g.kind == "block")
        unit_family = family(get_block(ev.spec, paths.field(path, unit_field.name)).block)
        form = self._form(layout, f"{f.name}: {f.doc}")
        for g in unit_family.fields:
            if g.kind not in SCALAR_KINDS:
                continue
            here = paths.field(paths.field(path, f.name), g.name)
            unit_path = paths.field(paths.field(path, unit_field.name), g.name)
            editor = OverrideEditor(editor_for(g))
            self._add_row(form, g.name, here, editor, Binding(
                lambda spec, p=here, u=unit_path: self._read_override(spec, p, u),
                lambda v, p=here: self.hub.apply(edits.set_field, p, v)))

    @staticmethod
    def _read_override(spec: Spec, path: str, unit_path: str) -> tuple[Any, bool]:
        value = get_value(spec, path)
        return (value, True) if value is not None else (OverrideEditor.Inherit(get_value(spec, unit_path)), False)

    def _add_settings(self, form: QFormLayout) -> None:
        settings: list[tuple[str, FieldEditor, str]] = [
            ("name", TextEditor(), "the network's name (reports, exported code)"),
            ("description", TextEditor("optional"), "one line about the network"),
            ("input", IntsEditor(("channels", "height", "width"), 1, 16384), "input channels x height x width"),
            ("num_classes", IntEditor(1, 1_000_000), "outputs of the classifier"),
            ("width_mult", FloatEditor(0.05, 8.0), "multiplies every channel count (MobileNet's alpha)"),
            ("depth_mult", FloatEditor(0.1, 8.0), "every stage repeats ceil(repeat x depth_mult) times (EfficientNet)"),
            ("bn_eps", FloatEditor(1e-12, 1.0), "batch norm epsilon"),
            ("bn_momentum", FloatEditor(0.0, 1.0), "batch norm running-average momentum"),
        ]
        for key, editor, tip in settings:
            editor.setToolTip(tip)
            self._add_row(form, key, key, editor, Binding(
                lambda spec, k=key: (getattr(spec, k), True),
                lambda v, k=key: self.hub.apply(edits.set_setting, k, v)), tip)


class OverrideEditor(FieldEditor):
    """An optional override: a check box to set it, and the unit's editor for its value."""

    class Inherit:
        """The value shown while not overridden: the unit's own value."""

        def __init__(self, value: Any) -> None:
            self.value = value

    def __init__(self, inner: FieldEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inner = inner
        self.on = QCheckBox()
        self.on.setToolTip("override this field in the first repeat")
        self.row.addWidget(self.on)
        self.row.addWidget(inner, 1)
        self.on.toggled.connect(self._toggled)
        inner.committed.connect(self._inner_committed)
        self.setToolTip(inner.toolTip())

    def _toggled(self, on: bool) -> None:
        self.inner.setEnabled(on)
        self._commit()

    def _inner_committed(self, _value: Any) -> None:
        with QSignalBlocker(self.on):
            self.on.setChecked(True)
        self.inner.setEnabled(True)
        self._commit()

    def value(self) -> Any:
        return self.inner.value() if self.on.isChecked() else None

    def set_value(self, value: Any) -> None:
        inherited = isinstance(value, OverrideEditor.Inherit)
        with QSignalBlocker(self.on):
            self.on.setChecked(not inherited)
        self.inner.setEnabled(not inherited)
        self.inner.set_value(value.value if inherited else value)

    def set_error(self, message: str | None) -> None:
        super().set_error(message)
        self.inner.set_error(message)
