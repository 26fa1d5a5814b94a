"""The ``onnx`` export: opset 18, input ``input``, output ``logits``, a dynamic batch axis.

torch's ONNX exporter needs the ``onnx`` and ``onnxscript`` packages, declared as the project's
``onnx`` extra; without them the user is told how to install them, before any work is done.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import torch

from arch.errors import ConvSmithError
from arch.export.example import model_and_input, quiet
from arch.spec import Spec

OPSET = 18
REQUIRED = ("onnx", "onnxscript")


def missing_packages() -> list[str]:
    missing = []
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _require() -> None:
    """Tell the user how to install what the exporter needs, before any work is done."""
    missing = missing_packages()
    if missing:
        raise ConvSmithError(f"ONNX export needs the {' and '.join(missing)} package"
                             f"{'s' if len(missing) > 1 else ''}: pip install 'convsmith[onnx]'")


def render(spec: Spec, input_shape: tuple[int, int, int] | None = None,
           weights: Mapping[str, torch.Tensor] | None = None) -> bytes:
    _require()
    model, example = model_and_input(spec, input_shape, weights)
    return module_bytes(model, example)


def module_bytes(model: torch.nn.Module, example: torch.Tensor) -> bytes:
    """Any eval-mode module as ONNX (the same opset, names and dynamic batch axis as a spec's export)."""
    _require()
    try:
        with quiet():
            program = torch.onnx.export(model, (example,), dynamo=True, opset_version=OPSET,
                                        input_names=["input"], output_names=["logits"],
                                        dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    except Exception as e:  # the exporter's many error types; the model itself ran fine
        raise ConvSmithError(f"ONNX export failed: {type(e).__name__}: {e}") from e
    if program is None:  # only when exporting to a file, which this does not ask for
        raise ConvSmithError("ONNX export failed: the exporter returned no program")
    return program.model_proto.SerializeToString()
