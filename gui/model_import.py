"""File > Open of a torch model as an editable design: a torchvision classifier or a class in a Python file,
written as a spec by ``arch.spec_import``. What cannot be expressed is shown, module by module, and nothing
opens; what was written differently (but computes the same) is said once the document is open."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QMenu

from arch.errors import ConvSmithError

if TYPE_CHECKING:
    from gui.main_window import MainWindow

PY_FILTER = "Python files (*.py);;All files (*)"
CNN = re.compile(r"^(resnet|resnext|wide_resnet|vgg|alexnet|densenet|googlenet|inception_v3|squeezenet|mobilenet|"
                 r"mnasnet|efficientnet_b|regnet|shufflenet)")


def is_model_source(text: str) -> bool:
    """``torchvision:NAME``, ``FILE.py`` or ``FILE.py:Class``."""
    return text.startswith("torchvision:") or bool(re.search(r"\.py(:[A-Za-z_]\w*)?$", text))


def module_ref(text: str) -> str:
    """``FILE.py:Class``; for a bare ``FILE.py`` the one nn.Module class it defines (by its source)."""
    if re.search(r"\.py:[A-Za-z_]\w*$", text):
        return text
    try:
        tree = ast.parse(Path(text).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError) as e:
        raise ConvSmithError(f"cannot read {text}: {e}") from None
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
               and any("Module" in ast.unparse(b) for b in n.bases)]
    if len(classes) != 1:
        found = ", ".join(classes) or "none"
        raise ConvSmithError(f"{Path(text).name} defines {len(classes)} nn.Module classes ({found}): open "
                             f"{Path(text).name}:CLASS to choose one")
    return f"{text}:{classes[0]}"


def import_document(window: MainWindow, source: str) -> Any:
    """Import ``source`` and open the spec as a new (unsaved) document; None after showing why not."""
    from arch.import_cli import import_spec

    name = source.split(":", 1)[1] if source.startswith("torchvision:") else Path(source.split(".py")[0]).name
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        if source.startswith("torchvision:"):
            result, _, _ = import_spec(source.split(":", 1)[1], None, None)
        else:
            result, _, _ = import_spec(None, module_ref(source), None)
    except ConvSmithError as e:
        QGuiApplication.restoreOverrideCursor()
        window.dialogs.error(window, f"Cannot open {name}", str(e))
        return None
    QGuiApplication.restoreOverrideCursor()
    if result.spec is None:
        window.dialogs.error(window, f"Cannot open {name} as a design",
                             f"{len(result.problems)} module(s) cannot be written as blocks exactly:\n"
                             + "\n".join(result.problems))
        return None
    doc = window.open_spec(result.spec, None, dirty=True)
    if result.notes:
        window.dialogs.info(window, f"Opened {name}", "\n".join(result.notes))
    return doc


def install(window: MainWindow, file_menu: QMenu) -> QMenu:
    """File > Open torch model: every torchvision CNN classifier, and a class in a Python file."""
    import torchvision

    menu = file_menu.addMenu("Open torch &model")
    vision = menu.addMenu("&torchvision")
    for name in torchvision.models.list_models(module=torchvision.models):
        if CNN.match(name):
            vision.addAction(name, lambda n=name: import_document(window, f"torchvision:{n}"))

    def from_file() -> None:
        path = window.dialogs.open_path(window, "Open an nn.Module (FILE.py)", PY_FILTER)
        if path:
            import_document(window, path)

    menu.addAction("From a &Python file…", from_file)
    return menu
