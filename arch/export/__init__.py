"""Exports of a spec: readable PyTorch code, ONNX, TorchScript and the normalised JSON.

One table, ``FORMATS``, from which the CLI, the app's Export menu and the writers derive; one entry,
``export(spec, fmt, path, input_shape=None)``, shared by the CLI and the GUI. Every format
is rendered to bytes in memory first and then written atomically (``arch.io``), so a failing export
never creates a partial file nor touches an existing one. Torch is imported only by the formats
that need it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arch import io
from arch.errors import ConvSmithError
from arch.fields import did_you_mean
from arch.spec import Spec

Shape = tuple[int, int, int]
Weights = Mapping[str, Any]


@dataclass(frozen=True)
class ExportFormat:
    """One export format: the CLI's ``--format`` choices and suffix guessing, the app's Export menu and its
    file-dialog filter, and the writer all derive from these entries."""

    name: str                  # the --format value
    summary: str               # what the file holds (CLI help, spec docs)
    label: str                 # the Export menu's text
    files: str                 # the file dialog's name for such files
    suffixes: tuple[str, ...]  # the first is the one suggested
    text: bool                 # can be printed to stdout
    render: Callable[[Spec, Shape | None, str | None, Weights | None], bytes]  # (spec, input, module name, weights)

    @property
    def filter(self) -> str:
        """The file dialog's filter, e.g. ``ONNX models (*.onnx)``."""
        return f"{self.files} ({' '.join('*' + s for s in self.suffixes)})"

    def write(self, spec: Spec, path: str | os.PathLike[str], input_shape: Shape | None = None,
              weights: Weights | None = None) -> int:
        """Render in memory, then write atomically; returns the number of bytes written."""
        data = self.render(spec, input_shape, Path(path).stem, weights)
        io.write_bytes(path, data)
        return len(data)


def _json(spec: Spec, input_shape: Shape | None, _module: str | None, _weights: Weights | None) -> bytes:
    from arch.expand import expand_spec
    from arch.spec import dumps, loads

    if input_shape is not None:
        spec = dataclasses.replace(spec, input=input_shape)
    text = dumps(spec)
    expand_spec(loads(text))  # fields and shapes: never export a spec that cannot be loaded back
    return text.encode("utf-8")


def _py(spec: Spec, input_shape: Shape | None, module: str | None, _weights: Weights | None) -> bytes:
    from arch.export.pycode import render as render_py

    return render_py(spec, input_shape, module).encode("utf-8")


def _onnx(spec: Spec, input_shape: Shape | None, _module: str | None, weights: Weights | None) -> bytes:
    from arch.export.onnx import render as render_onnx

    return render_onnx(spec, input_shape, weights)


def _torchscript(spec: Spec, input_shape: Shape | None, _module: str | None, weights: Weights | None) -> bytes:
    from arch.export.torchscript import render as render_ts

    return render_ts(spec, input_shape, weights)


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("py", "one readable Python file that imports only torch (same state_dict keys and outputs)",
                 "PyTorch module (.py)…", "Python files", (".py",), True, _py),
    ExportFormat("onnx", "ONNX model, opset 18, input 'input', output 'logits', dynamic batch axis",
                 "ONNX model (.onnx)…", "ONNX models", (".onnx",), False, _onnx),
    ExportFormat("torchscript", "TorchScript archive for torch.jit.load (traced at the input shape)",
                 "TorchScript archive (.pt)…", "TorchScript archives", (".pt", ".ts"), False, _torchscript),
    ExportFormat("json", "the normalised spec JSON", "Normalised spec JSON (.json)…", "Spec files", (".json",),
                 True, _json),
)}
SUFFIXES = {suffix: f.name for f in FORMATS.values() for suffix in f.suffixes}


def format_for(path: str | os.PathLike[str]) -> str:
    """The format a file name asks for by its suffix (``model.onnx`` -> ``onnx``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ConvSmithError(f"cannot tell the export format from {str(path)!r}; give one of "
                             f"{', '.join(FORMATS)} (or a file ending in {', '.join(SUFFIXES)})")
    return SUFFIXES[suffix]


def get_format(fmt: str) -> ExportFormat:
    if fmt not in FORMATS:
        raise ConvSmithError(f"unknown export format {fmt!r}{did_you_mean(fmt, list(FORMATS))}; "
                             f"choose one of {', '.join(FORMATS)}")
    return FORMATS[fmt]


def render(spec: Spec, fmt: str, input_shape: Shape | None = None, module: str | None = None,
           weights: Weights | None = None) -> bytes:
    """The exported file's content (``module``: the file's name, for the usage note of ``py``).

    ``weights`` (a state_dict, e.g. after training) go into the onnx and torchscript files; without
    them those hold the fresh random initialisation. The py and json formats describe the network
    only: its weights are saved beside them with ``torch.save(model.state_dict(), ...)``.

    SpecError when the spec's shapes fail; ConvSmithError for anything else the user can fix.
    """
    return get_format(fmt).render(spec, input_shape, module, weights)


def export(spec: Spec, fmt: str, path: str | os.PathLike[str], input_shape: Shape | None = None,
           weights: Weights | None = None) -> int:
    """Write ``spec`` in format ``fmt`` to ``path`` atomically; returns the number of bytes written."""
    return get_format(fmt).write(spec, path, input_shape, weights)
