"""What the CLI can analyse, named by one string: a spec file, ``template:NAME``, ``torchvision:NAME``,
``path/to/file.py:ClassName`` or ``model.onnx`` (read with the onnx package, at its own input size unless
``--input`` says otherwise). torch is imported only for torchvision and module references (the fx import)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from analysis.engine import analyze
from analysis.records import Report
from arch.graph import Shape

if TYPE_CHECKING:
    from torch import nn

DEFAULT_FX_INPUT = (3, 224, 224)  # a module carries no input size; ImageNet's unless --input says otherwise
_MODULE_REF = re.compile(r".+\.py:[A-Za-z_][A-Za-z0-9_]*")


def is_module_ref(ref: str) -> bool:
    return bool(_MODULE_REF.fullmatch(ref))


def analyze_module(module: nn.Module, label: str, input_shape: Shape | None, **options: Any) -> Report:
    """fx-import an nn.Module and analyse it; parameters the forward never uses are noted, not hidden."""
    from arch.fx_import import import_module, unused_parameters

    graph = import_module(module, tuple(input_shape or DEFAULT_FX_INPUT), label)
    report = analyze(graph, **options)
    unused = unused_parameters(module, graph)
    if unused:
        report.notes.append(f"{unused:,} parameters belong to modules the traced (eval-mode) forward never "
                            "calls and are not in the totals")
    return report


def analyze_ref(ref: str, input_shape: Shape | None = None, **options: Any) -> Report:
    """Analyse whatever ``ref`` names (see the module docstring); ``options`` go to ``analyze``."""
    if ref.startswith("torchvision:"):
        from arch.fx_import import torchvision_model

        name = ref.split(":", 1)[1]
        return analyze_module(torchvision_model(name), name, input_shape, **options)
    if ref.lower().endswith(".onnx"):
        from arch.onnx_import import import_onnx

        return analyze(import_onnx(ref, input_shape), **options)
    if is_module_ref(ref):
        from arch.fx_import import user_module

        return analyze_module(user_module(ref), ref.rsplit(":", 1)[1], input_shape, **options)
    from arch.spec import resolve

    return analyze(resolve(ref), input_shape, **options)
