"""Forward time of the built ConvNet and of its ``py`` export, against torchvision's hand-written model.

The builder runs each block as a generic plan of ops; the exporter writes straight-line code. Both
should cost what torchvision costs: the ratios printed are (ours / torchvision), same weights, same
input, eval mode, median of interleaved runs measured in this process.

    python -m benchmarks.forward_overhead
"""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision

from arch.builder import build
from arch.export import export
from arch.export.pycode import class_name
from arch.templates import load_template

MODELS = {
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
}
BATCH, SIDE, REPEATS = 8, 96, 21


def _median_seconds(models: list[torch.nn.Module], x: torch.Tensor) -> list[float]:
    """Median forward time of each model; runs are interleaved so that load on a shared machine
    slows every model alike instead of skewing one ratio."""
    times: list[list[float]] = [[] for _ in models]
    with torch.no_grad():
        for model in models:
            model(x)
        for _ in range(REPEATS):
            for model, own in zip(models, times):
                t0 = time.perf_counter()
                model(x)
                own.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _exported(name: str, folder: Path) -> torch.nn.Module:
    spec = load_template(name)
    path = folder / f"{name}.py"
    export(spec, "py", path)
    module_spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, class_name(spec.name))()


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    print(f"forward, batch {BATCH}x3x{SIDE}x{SIDE}, CPU, {torch.get_num_threads()} threads, median of {REPEATS}")
    print(f"{'model':<14} {'torchvision':>12} {'built':>10} {'ratio':>6} {'exported':>10} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for name, ctor in MODELS.items():
            ref = ctor().eval()
            ours = build(load_template(name)).eval()
            ours.load_state_dict(dict(zip(ours.state_dict(), ref.state_dict().values())))
            exported = _exported(name, Path(folder)).eval()
            exported.load_state_dict(ours.state_dict())
            x = torch.randn(BATCH, 3, SIDE, SIDE)
            with torch.no_grad():
                assert torch.allclose(ours(x), ref(x), atol=1e-4) and torch.equal(exported(x), ours(x))
            t_ref, t_ours, t_exp = _median_seconds([ref, ours, exported], x)
            print(f"{name:<14} {1e3 * t_ref:>9.1f} ms {1e3 * t_ours:>7.1f} ms {t_ours / t_ref:>5.2f}x "
                  f"{1e3 * t_exp:>7.1f} ms {t_exp / t_ref:>5.2f}x")


if __name__ == "__main__":
    main()
