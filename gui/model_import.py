"""File > Open of a torch model as an editable design: a torchvision classifier or a class in a Python file,
written as a spec by ``arch.spec_import``. What cannot be expressed is shown, module by module, and nothing
opens; what was written differently (but computes the same) is said once the document is open.

Building and tracing a model takes about a second (more for a large one or a user's file): it runs off the UI
thread (gui/jobs.py) behind a progress dialog that names the step and can cancel it."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtWidgets import QMenu, QProgressDialog

from arch.errors import ConvSmithError
from gui.jobs import Job, Progress, describe

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


class Cancelled(Exception):
    """The person cancelled the import: nothing opens and nothing is reported."""


def import_document(window: MainWindow, source: str) -> Job | None:
    """Import ``source`` off the UI thread; the spec opens as a new (unsaved) document when it is written, or
    the reason is shown. The job (None when it could not start), for whoever waits on it."""
    from arch.import_cli import import_spec
    from arch.spec_import import STEPS

    vision = source.split(":", 1)[1] if source.startswith("torchvision:") else None
    name = vision or Path(source.split(".py")[0]).name
    dialog = QProgressDialog(f"Opening {name}…", "Cancel", 0, len(STEPS), window)
    dialog.setWindowTitle("Open torch model")
    dialog.setMinimumDuration(300)  # a quick import does not flash a dialog
    dialog.setAutoReset(False)
    dialog.setAutoClose(False)

    def work(job: Job) -> Any:
        done = iter(range(len(STEPS)))

        def step(text: str) -> None:
            if job.cancelled():
                raise Cancelled
            job.progress(next(done), len(STEPS), text)

        ref = None if vision else module_ref(source)
        result, _, _ = import_spec(vision, ref, None, step=step)
        if job.cancelled():
            raise Cancelled
        return result

    def progressed(p: Progress) -> None:
        dialog.setValue(int(p.done))
        dialog.setLabelText(f"Opening {name}: {p.text}…")

    def finish() -> bool:
        """Close the dialog; whether the result still matters (not cancelled)."""
        dialog.reset()  # stops the timer that would show it
        dialog.hide()
        dialog.deleteLater()
        return job is not None and not job.cancelled()

    def done(result: Any) -> None:
        if not finish():
            return
        if result.spec is None:
            window.dialogs.error(window, f"Cannot open {name} as a design",
                                 f"{len(result.problems)} module(s) cannot be written as blocks exactly:\n"
                                 + "\n".join(result.problems))
            return
        window.open_spec(result.spec, None, dirty=True)
        if result.notes:
            window.dialogs.info(window, f"Opened {name}", "\n".join(result.notes))

    def failed(error: Exception) -> None:
        if finish() and not isinstance(error, Cancelled):
            window.dialogs.error(window, f"Cannot open {name}", describe(error))

    job = window.workers.submit(work, done, failed, title=f"Opening {name}", on_progress=progressed)
    if job is not None:
        dialog.canceled.connect(job.stop)
    return job


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
