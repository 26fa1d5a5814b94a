"""The analysis report as an export format, so that the app's Export menu lists it from the same kind of
table entry as ``arch.export.FORMATS`` (the CLI writes it with ``convsmith analyze --format html``)."""

from __future__ import annotations

import dataclasses

from arch.export import ExportFormat, Shape, Weights
from arch.spec import Spec


def _html(spec: Spec, input_shape: Shape | None, _module: str | None, _weights: Weights | None) -> bytes:
    from analysis import analyze
    from analysis.html import report

    if input_shape is not None:
        spec = dataclasses.replace(spec, input=input_shape)
    return report(analyze(spec)).encode("utf-8")


HTML_REPORT = ExportFormat("html", "the analysis report as one self-contained HTML page",
                           "HTML analysis report (.html)…", "HTML files", (".html",), True, _html)
