"""The built model and an example batch that the traced formats (ONNX, TorchScript) start from."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping

import torch

from arch.builder import ConvNet, build
from arch.errors import ConvSmithError
from arch.spec import Spec

BATCH = 2  # not 1: a batch of 1 would let the exporters specialise the batch axis


def model_and_input(spec: Spec, input_shape: tuple[int, int, int] | None = None,
                    weights: Mapping[str, torch.Tensor] | None = None) -> tuple[ConvNet, torch.Tensor]:
    """The model in eval mode (dropout off, batch norm on running statistics) and a random batch.

    ``weights``: a state_dict to load (trained weights); without it the model keeps its fresh initialisation.
    """
    model = build(spec, input_shape)
    if weights is not None:
        try:
            model.load_state_dict(weights)
        except RuntimeError as e:
            raise ConvSmithError(f"the weights do not fit this spec: {e}") from None
    model.eval()
    shape = tuple(input_shape or spec.input)
    return model, torch.randn(BATCH, *shape, generator=torch.Generator().manual_seed(0))


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence torch's notices about its own APIs' deprecation; the checks after export stand in."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*is deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r".*is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        yield
