"""The ``torchscript`` export: the built model traced at the spec's input size, for ``torch.jit.load``.

Tracing records the ops run on one example; the spatial size is fixed at export time (the N-max pool's
window arithmetic becomes constants), the batch axis is free. The trace is checked against the model
on a different batch size before anything is written.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import torch

from arch.errors import ConvSmithError
from arch.export.example import BATCH, model_and_input, quiet
from arch.spec import Spec, dumps

SPEC_FILE = "convsmith_spec.json"  # the spec travels inside the archive (torch.jit.load(_extra_files=...))


def render(spec: Spec, input_shape: tuple[int, int, int] | None = None,
           weights: Mapping[str, torch.Tensor] | None = None) -> bytes:
    model, example = model_and_input(spec, input_shape, weights)
    with quiet(), torch.no_grad():
        traced = torch.jit.trace(model, example, check_trace=False)
        probe = torch.randn(BATCH + 1, *example.shape[1:], generator=torch.Generator().manual_seed(1))
        if not torch.allclose(traced(probe), model(probe), rtol=1e-4, atol=1e-5):
            raise ConvSmithError("TorchScript export failed: the traced model does not reproduce the model "
                                 "on another batch size")
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer, _extra_files={SPEC_FILE: dumps(spec)})
    return buffer.getvalue()
