"""Params, buffers, shapes, MACs, FLOPs and activation bytes against the built torch model.

Witnesses: ``sum(p.numel())`` of the module, output shapes from forward hooks, MACs from
``torch.utils.flop_counter.FlopCounterMode`` / 2, and FLOPs from an aten-level counter written here
(a second implementation of the FLOP convention keyed by the aten ops torch actually dispatches).
Templates run on the meta device (shapes only, instant); random specs run a real CPU forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from analysis import analyze
from arch import ops
from arch.builder import build
from arch.spec import Spec
from arch.templates import load_template, names
from tests.spec_strategies import valid_specs

torch.set_num_threads(2)

PER_VALUE = {"relu": 1, "hardtanh": 2, "leaky_relu": 2, "sigmoid": 3, "silu": 4, "gelu": 5, "hardsigmoid": 4,
             "hardswish": 5, "tanh": 1, "add": 1, "mul": 1, "maximum": 1, "pow": 1, "div": 1}
FREE = {"view", "t", "detach", "empty", "cat", "_unsafe_view", "dropout", "clone", "alias", "reshape", "flatten",
        "zeros", "empty_like", "as_strided", "expand", "reflection_pad2d", "replication_pad2d", "_pad_circular",
        "constant_pad_nd", "slice", "narrow", "copy_", "_to_copy", "new_empty", "squeeze"}  # data movement, padding


def _windows(size: int, out: int) -> int:
    """Total length of torch's adaptive pooling windows along one axis."""
    return sum(math.ceil((i + 1) * size / out) - (i * size) // out for i in range(out))


class AtenFlops(TorchDispatchMode):
    """FLOPs of every dispatched aten op under the report's convention."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.paused = False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        out = func(*args, **(kwargs or {}))
        if not self.paused:
            self.total += self._flops(func.overloadpacket.__name__, args, out)
        return out

    @staticmethod
    def _flops(name: str, args: tuple, out: object) -> int:
        numel = out.numel() if isinstance(out, torch.Tensor) else out[0].numel()
        if name == "convolution":
            x, w, bias = args[:3]
            return 2 * numel * w.shape[1] * w.shape[2] * w.shape[3] + (numel if bias is not None else 0)
        if name == "addmm":
            bias, a, b = args[:3]
            return 2 * a.shape[0] * a.shape[1] * b.shape[1] + numel
        if name == "mm":
            return 2 * args[0].shape[0] * args[0].shape[1] * args[1].shape[1]
        if name in ("native_batch_norm", "_native_batch_norm_legit_no_training"):
            return 2 * args[0].numel()
        if name in PER_VALUE:
            return PER_VALUE[name] * numel
        if name == "max_pool2d_with_indices":
            k = args[1] if len(args[1]) == 2 else list(args[1]) * 2
            return numel * (k[0] * k[1] - 1)
        if name == "avg_pool2d":
            k = args[1] if len(args[1]) == 2 else list(args[1]) * 2
            return numel * k[0] * k[1]
        if name == "avg_pool3d":  # local response normalisation's window over channels
            return numel * math.prod(args[1])
        if name in ("_adaptive_avg_pool2d", "adaptive_max_pool2d"):
            x, (oh, ow) = args[0], args[1]
            reads = x.shape[0] * x.shape[1] * _windows(x.shape[2], oh) * _windows(x.shape[3], ow)
            return reads if name == "_adaptive_avg_pool2d" else reads - numel
        if name == "amax":  # CBAM's maxima: one compare per value read beyond each output's first
            return args[0].numel() - numel
        if name == "mean":
            return args[0].numel()
        if name in FREE:
            return 0
        raise AssertionError(f"the FLOP witness has no rule for aten.{name}")


@dataclass
class Witness:
    params: int
    trainable: int
    buffers: int
    macs: int
    flops: int
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    nbytes: dict[str, int] = field(default_factory=dict)


def witness(spec: Spec, input_shape: tuple[int, int, int] | None = None, batch: int = 1,
            device: str = "cpu") -> Witness:
    """Everything torch itself says about the built model on one eval-mode forward."""
    with torch.device(device):
        model = build(spec, input_shape).eval()
    shape = input_shape or spec.input
    counter = AtenFlops()
    shapes: dict[str, tuple[int, ...]] = {}
    nbytes: dict[str, int] = {}

    def record(name: str):  # noqa: ANN202
        def hook(module, inputs, output):  # noqa: ANN001, ANN202
            shapes[name] = tuple(output.shape)
            nbytes[name] = output.numel() * output.element_size()
            if isinstance(module, ops.NMaxPool2d):  # its aten ops are an implementation; count the op itself
                counter.paused = False
                (kh, kw), n = module.kernel_size, module.n
                counter.total += output.numel() * (n * kh * kw - n * (n + 1) // 2 + n)
        return hook

    for name, m in model.named_modules():
        if name:
            m.register_forward_hook(record(name))
            if isinstance(m, ops.NMaxPool2d):
                m.register_forward_pre_hook(lambda *_: setattr(counter, "paused", True))
    x = torch.zeros(batch, *shape, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as fc, counter:
        model(x)
    total = fc.get_total_flops()
    assert total % 2 == 0
    return Witness(sum(p.numel() for p in model.parameters()),
                   sum(p.numel() for p in model.parameters() if p.requires_grad),
                   sum(b.numel() for b in model.buffers()), total // 2, counter.total, shapes, nbytes)


def check(spec: Spec, input_shape: tuple[int, int, int] | None = None, batch: int = 1, device: str = "cpu") -> None:
    rep = analyze(spec, input_shape, batch=batch)
    w = witness(spec, input_shape, batch, device)
    t = rep.totals
    assert (t.params, t.trainable_params, t.frozen_params, t.buffers) == (w.params, w.trainable, 0, w.buffers)
    assert t.macs == w.macs
    assert t.flops == w.flops
    assert sum(r.macs for r in rep.layers) == t.macs and sum(r.params for r in rep.layers) == t.params
    module_backed = [r for r in rep.layers if r.name in w.shapes]
    assert len(module_backed) == sum(r.type not in ("add", "mul", "max", "concat") for r in rep.layers)
    for r in module_backed:
        assert w.shapes[r.name] == (batch, *r.out_shape), r.name
        assert w.nbytes[r.name] == r.activation_bytes, r.name
    for b in rep.blocks:  # every block's container module: output shape and rolled-up params
        info = rep.graph.block(b.path)
        assert w.shapes[info.module] == (batch, *b.out_shape), b.path
    top = [b for b in rep.blocks if b.parent is None]
    assert sum(b.params for b in top) == t.params and sum(b.macs for b in top) == t.macs


@pytest.mark.parametrize("name", names())
def test_template_figures_match_torch(name: str) -> None:
    check(load_template(name), device="meta")


def test_batch_scales_macs_flops_and_memory() -> None:
    spec = load_template("resnet20")
    one, three = analyze(spec), analyze(spec, batch=3)
    assert three.totals.macs == 3 * one.totals.macs and three.totals.params == one.totals.params
    check(spec, batch=3, device="meta")
    assert three.layers[0].activation_bytes == 3 * one.layers[0].activation_bytes


def test_other_input_sizes_match_torch() -> None:
    check(load_template("resnet18"), (3, 97, 131), device="meta")
    check(load_template("googlenet"), (3, 96, 96), device="meta")
    check(load_template("alexnet"), (3, 163, 190), device="meta")  # adaptive pool windows of uneven length


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_random_specs_match_a_real_forward(spec: Spec) -> None:
    check(spec)


def test_resnet18_oracle_from_the_template() -> None:
    rep = analyze(load_template("resnet18"))
    assert rep.totals.params == 11_689_512
    assert f"{rep.totals.macs / 1e9:.3f}" == "1.814"
    assert rep.receptive_field.size == (435, 435) and rep.receptive_field.jump == (32, 32)


def test_vgg16_features_field_is_212() -> None:
    rep = analyze(load_template("vgg16"))
    last_pool = [r for r in rep.layers if r.type == "maxpool"][-1]
    assert last_pool.rf_size == (212, 212) and last_pool.rf_jump == (32, 32)
    assert rep.receptive_field.size == (212, 212)
