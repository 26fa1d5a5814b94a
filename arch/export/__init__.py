"""Exports of a spec: readable PyTorch code, ONNX, TorchScript and the normalised JSON.

One entry, ``export(spec, fmt, path, input_shape=None)``, shared by the CLI and the GUI. Every format
is rendered to bytes in memory first and then written atomically (``arch.io``), so a failing export
never creates a partial file nor touches an existing one. Torch is imported only by the formats
that need it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arch import io
from arch.errors import ConvSmithError
from arch.fields import did_you_mean
from arch.spec import Spec

FORMATS = {
    "py": "one readable Python file that imports only torch (same state_dict keys and outputs)",
    "onnx": "ONNX model, opset 18, input 'input', output 'logits', dynamic batch axis",
    "torchscript": "TorchScript archive for torch.jit.load (traced at the input shape)",
    "json": "the normalised spec JSON",
}
SUFFIXES = {".py": "py", ".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript", ".json": "json"}


def format_for(path: str | os.PathLike[str]) -> str:
    """The format a file name asks for by its suffix (``model.onnx`` -> ``onnx``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ConvSmithError(f"cannot tell the export format from {str(path)!r}; give one of "
                             f"{', '.join(FORMATS)} (or a file ending in {', '.join(SUFFIXES)})")
    return SUFFIXES[suffix]


def render(spec: Spec, fmt: str, input_shape: tuple[int, int, int] | None = None,
           module: str | None = None, weights: Mapping[str, Any] | None = None) -> bytes:
    """The exported file's content (``module``: the file's name, for the usage note of ``py``).

    ``weights`` (a state_dict, e.g. after training) go into the onnx and torchscript files; without
    them those hold the fresh random initialisation. The py and json formats describe the network
    only: its weights are saved beside them with ``torch.save(model.state_dict(), ...)``.

    SpecError when the spec's shapes fail; ConvSmithError for anything else the user can fix.
    """
    if fmt not in FORMATS:
        raise ConvSmithError(f"unknown export format {fmt!r}{did_you_mean(fmt, list(FORMATS))}; "
                             f"choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        from arch.expand import expand_spec
        from arch.spec import dumps, loads

        if input_shape is not None:
            spec = dataclasses.replace(spec, input=tuple(input_shape))
        text = dumps(spec)
        expand_spec(loads(text))  # fields and shapes: never export a spec that cannot be loaded back
        return text.encode("utf-8")
    if fmt == "py":
        from arch.export.pycode import render as render_py

        return render_py(spec, input_shape, module).encode("utf-8")
    if fmt == "onnx":
        from arch.export.onnx import render as render_onnx

        return render_onnx(spec, input_shape, weights)
    from arch.export.torchscript import render as render_ts

    return render_ts(spec, input_shape, weights)


def export(spec: Spec, fmt: str, path: str | os.PathLike[str], input_shape: tuple[int, int, int] | None = None,
           weights: Mapping[str, Any] | None = None) -> int:
    """Write ``spec`` in format ``fmt`` to ``path`` atomically; returns the number of bytes written."""
    data = render(spec, fmt, input_shape, Path(path).stem, weights)
    io.write_bytes(path, data)
    return len(data)
