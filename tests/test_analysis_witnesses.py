"""Receptive fields and activation memory against what torch actually does.

* Receptive field: an independent gradient probe. Every weight positive, batch norm and activations
  identity, max / N-max pooling replaced by average pooling of the same geometry, channel gates
  (squeeze-excitation, CBAM's channel attention) detached, CBAM's spatial gate followed; the gradient of
  one output unit (all channels) with respect to the input is non-zero exactly on the pixels that unit
  sees. The probe runs at an input large enough for that unit's whole field to lie inside the image, so
  the non-zero extent must equal the analytic size and position.
* Training memory: the tensors autograd saves (``saved_tensors_hooks``), parameters and buffers
  excluded, counted once per storage.
* Inference peak: the graph executed op by op with the built model's own modules, each value dropped
  after its last consumer, live bytes measured from the real tensors' storages.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from torch import nn

from analysis import analyze
from arch.builder import build
from arch.expand import build_graph
from arch.graph import Graph
from arch.spec import Spec, parse_spec
from arch.templates import load_template
from tests.spec_strategies import valid_specs

torch.set_num_threads(2)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def run_graph(model: nn.Module, graph: Graph, x: torch.Tensor, probe: bool = False,
              on_step=None) -> dict[str, torch.Tensor]:  # noqa: ANN001
    """Execute the graph node by node with the model's modules (``probe``: the linearised network)."""
    values = {"input": x}
    for node in graph.nodes[1:]:
        ins = [values[i] for i in node.inputs]
        a = node.attrs
        if node.op == "add":
            y = ins[0] + ins[1]
        elif node.op == "mul":  # the probe does not follow a gate's global context (see analysis.receptive)
            y = ins[0] * (ins[1].detach() if probe and ins[1].shape[2:] != ins[0].shape[2:] else ins[1])
        elif node.op == "max":  # either operand may win: the probe follows both
            y = ins[0] + ins[1] if probe else torch.maximum(ins[0], ins[1])
        elif node.op == "concat":
            y = torch.cat(ins, 1)
        elif probe and node.op in ("bn", "act", "dropout"):
            y = ins[0]
        elif probe and node.op in ("maxpool", "nmaxpool"):
            y = F.avg_pool2d(ins[0], a["kernel"], a["stride"], a["padding"], a["ceil_mode"], count_include_pad=True)
        elif probe and node.op == "adaptive_maxpool":
            y = F.adaptive_avg_pool2d(ins[0], a["output"])
        else:
            y = model.get_submodule(node.name)(ins[0])
        values[node.name] = y
        if on_step is not None:
            on_step(node, values)
    return values


def probe_extent(spec: Spec, input_shape: tuple[int, int, int], layer: str, unit: tuple[int, int]):  # noqa: ANN201
    """Rows and columns of input pixels whose gradient is non-zero for one output unit of ``layer``."""
    model = build(spec, input_shape).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
    graph = build_graph(spec, input_shape)
    x = torch.ones(1, *input_shape, dtype=torch.float64, requires_grad=True)
    out = run_graph(model, graph, x, probe=True)[layer]
    out[0, :, unit[0], unit[1]].sum().backward()
    hit = x.grad[0].abs().sum(0) > 0
    rows, cols = hit.any(1).nonzero().flatten(), hit.any(0).nonzero().flatten()
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def probe_layer(spec: Spec, input_shape: tuple[int, int, int]) -> str | None:
    """The last spatial layer before any adaptive pooling (whose windows depend on the input size)."""
    rep = analyze(spec, input_shape)
    last = None
    for r in rep.layers:
        if r.type.startswith("adaptive") or len(r.out_shape) != 3 or r.rf_whole_input:
            break
        last = r.name
    return last


def check_field(spec: Spec, layer: str | None = None, max_side: int = 400) -> bool:
    """Probe ``layer`` (default: see probe_layer) at an input where one unit's field fits; False if too big."""
    c, h0, w0 = spec.input
    layer = layer or probe_layer(spec, spec.input)
    if layer is None:
        return False
    rec = analyze(spec).layer(layer)
    unit, side = [], []
    for ax, size0 in ((0, h0), (1, w0)):
        r, j, centre = rec.rf_size[ax], rec.rf_jump[ax], rec.rf_offset[ax]
        i = max(0, math.ceil(((r - 1) / 2 - centre) / j))
        lo = centre + i * j - (r - 1) / 2
        unit.append(i)
        side.append(max(size0, int(lo + r + j)))
    for _ in range(8):  # grow until the layer has that unit (and the spec is valid there)
        shape = (c, side[0], side[1])
        if max(side) > max_side:
            return False
        graph = build_graph(spec, shape)
        if graph.ok and all(graph.node(layer).shape[1 + ax] > unit[ax] for ax in (0, 1)):
            break
        side = [s + 8 for s in side]
    else:
        return False
    big = analyze(spec, shape).layer(layer)
    assert (big.rf_size, big.rf_jump, big.rf_offset) == (rec.rf_size, rec.rf_jump, rec.rf_offset)
    extent = probe_extent(spec, shape, layer, (unit[0], unit[1]))
    for ax in (0, 1):
        r, j, centre = rec.rf_size[ax], rec.rf_jump[ax], rec.rf_offset[ax]
        lo = centre + unit[ax] * j - (r - 1) / 2
        assert extent[ax] == (lo, lo + r - 1), (layer, ax, extent, rec)
    return True


def spec(body: list[dict], input_shape: list[int] | None = None) -> Spec:
    return parse_spec({"format": "convsmith/1", "name": "probe", "input": input_shape or [2, 24, 24],
                       "num_classes": 3, "body": body})


CASES = {
    "dilation and 1x7": [{"block": "conv", "out": 4, "kernel": [1, 7]}, {"block": "conv", "out": 4, "dilation": 2},
                         {"block": "conv", "out": 4, "kernel": [7, 1], "stride": 2, "dilation": [1, 3]}],
    "same padding, even kernel": [{"block": "conv", "out": 4, "kernel": 4, "padding": "same"},
                                  {"block": "conv", "out": 4, "kernel": [2, 6], "padding": "same"},
                                  {"block": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": "valid"}],
    "ceil mode pools": [{"block": "pool", "mode": "max", "kernel": 3, "stride": 2, "ceil_mode": True},
                        {"block": "pool", "mode": "nmax", "kernel": 2, "n": 3, "padding": 1, "ceil_mode": True},
                        {"block": "pool", "mode": "avg", "kernel": [3, 1], "stride": [1, 2], "padding": [1, 0]}],
    "inception": [{"block": "conv", "out": 8, "stride": 2},
                  {"block": "inception", "c1": 2, "c3r": 2, "c3": 2, "c5r": 2, "c5": 2, "pool_proj": 2,
                   "kernel5": 5}],
    "residual": [{"block": "residual", "out": 4, "stride": 2},
                 {"block": "residual", "kind": "bottleneck", "out": 8, "expansion": 2, "stride": 2},
                 {"block": "residual", "out": 8, "stride": [1, 2]}],
    "CBAM after a strided conv": [{"block": "conv", "out": 8, "stride": 2}, {"block": "cbam", "ratio": 0.25},
                                  {"block": "cbam", "kernel": 3}],
    "mbconv with SE": [{"block": "inverted_residual", "out": 8, "kernel": 5, "se_ratio": 0.25, "stride": 2},
                       {"block": "stage", "repeat": 2, "unit": {"block": "inverted_residual", "out": 8,
                                                               "kernel": 7, "se_ratio": 0.5}},
                       {"block": "se"}, {"block": "separable", "out": 8, "kernel": 5, "dilation": 2}],
    "half-pixel centre into inception": [{"block": "conv", "out": 4, "kernel": 4, "padding": "same"},
                         {"block": "inception", "c1": 2, "c3r": 2, "c3": 2, "c5r": 2, "c5": 2, "pool_proj": 2}],
    "stride beyond kernel": [{"block": "conv", "out": 4, "kernel": 3, "stride": 4},
                             {"block": "conv", "out": 4, "kernel": 3}],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_field_equals_the_gradient_probe(name: str) -> None:
    s = spec(CASES[name])
    last = [r for r in analyze(s).layers if len(r.out_shape) == 3][-1].name
    assert check_field(s, last)


def test_adaptive_pool_field_at_a_fixed_input() -> None:
    """Adaptive windows depend on the input size, so this probe stays at the spec's own 24x24."""
    s = spec([{"block": "conv", "out": 4, "kernel": 3}, {"block": "adaptive_pool", "mode": "max", "size": [6, 4]},
              {"block": "conv", "out": 4, "kernel": 3}])
    pool, conv = analyze(s).layer("body.1.pool"), analyze(s).layer("body.2.conv")
    assert (pool.rf_size, pool.rf_jump, pool.rf_offset) == ((6, 8), (4, 6), (1.5, 2.5))  # 4x4/4 and 6x6/6 windows
    assert (conv.rf_size, conv.rf_jump, conv.rf_offset) == ((14, 20), (4, 6), (1.5, 2.5))
    unit = (2, 1)
    expected = []
    for ax in (0, 1):  # the analytic extent of that unit, clipped to the 24 pixels
        lo = conv.rf_offset[ax] + unit[ax] * conv.rf_jump[ax] - (conv.rf_size[ax] - 1) / 2
        expected.append((max(0, lo), min(23, lo + conv.rf_size[ax] - 1)))
    assert expected == [(3, 16), (0, 18)]
    assert probe_extent(s, (2, 24, 24), "body.2.conv", unit) == tuple(expected)


def test_multipath_blocks_of_templates_are_aligned() -> None:
    rep = analyze(load_template("googlenet"))
    inceptions = [b for b in rep.blocks if b.family == "inception"]
    assert inceptions and all(b.aligned for b in inceptions)


def test_global_pool_and_se_are_reported() -> None:
    rep = analyze(load_template("efficientnet_b0"))
    assert any("Squeeze-excitation" in n for n in rep.notes)
    assert rep.layer("body.9.pool").rf_whole_input and rep.layer("body.11.fc").rf_whole_input
    assert not rep.layer("body.8.act").rf_whole_input and rep.receptive_field.layer == "body.8.act"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(valid_specs(head=False))
def test_random_fields_equal_the_gradient_probe(s: Spec) -> None:
    layer = probe_layer(s, s.input)
    assume(layer is not None)
    rec = analyze(s).layer(layer)
    assume(rec.rf_size != (1, 1) and max(rec.rf_size) + max(rec.rf_jump) < 160)  # cheap to probe
    assert check_field(s, layer)


def test_resnet18_field_by_probe() -> None:
    """435 / 32 / offset 0 confirmed by the probe on a thin ResNet-18 at 480x480, where a unit's field fits."""
    thin = load_template("resnet18")
    thin.width_mult = 0.125
    rep = analyze(thin)
    assert (rep.receptive_field.size, rep.receptive_field.jump, rep.receptive_field.offset) == \
        ((435, 435), (32, 32), (0, 0))
    assert check_field(thin, rep.receptive_field.layer, max_side=480)


# ----------------------------------------------------------------------------------------- memory
def saved_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes autograd saves for backward, once per storage, parameters and buffers excluded."""
    own = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    storages: dict[int, int] = {}
    kept: list[torch.Tensor] = []  # held until the count is done: a freed storage's address can come back

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        if s.data_ptr() not in own:
            storages[s.data_ptr()] = s.nbytes()
            kept.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(storages.values())


def peak_live_bytes(model: nn.Module, graph: Graph, x: torch.Tensor) -> int:
    users = graph.consumers()
    remaining = {name: len(u) for name, u in users.items()}
    peak = x.untyped_storage().nbytes()  # the input is alive, also in a network that makes no op (identities)

    def step(node, values):  # noqa: ANN001, ANN202
        nonlocal peak
        live = {v.untyped_storage().data_ptr(): v.untyped_storage().nbytes() for v in values.values()}
        peak = max(peak, sum(live.values()))
        for i in set(node.inputs):
            remaining[i] -= node.inputs.count(i)
            if remaining[i] == 0 and i != graph.output.name:
                del values[i]

    with torch.no_grad():
        run_graph(model, graph, x, on_step=step)
    return peak


def check_memory(s: Spec, batch: int = 2, dtype: str = "float32") -> None:
    rep = analyze(s, batch=batch, dtype=dtype)
    torch.manual_seed(0)
    model = build(s).to(DTYPES[dtype])
    x = torch.randn(batch, *s.input, dtype=DTYPES[dtype])
    assert rep.totals.activation_bytes_train == saved_bytes(model.train(), x)
    assert rep.totals.peak_activation_bytes_inference == peak_live_bytes(model.eval(), rep.graph, x)


@pytest.mark.parametrize("name", ["lenet5", "resnet20", "mobilenet_mnist", "cifar_cnn"])
def test_template_memory(name: str) -> None:
    check_memory(load_template(name))


def test_memory_in_bfloat16() -> None:
    check_memory(load_template("lenet5"), batch=2, dtype="bfloat16")
    check_memory(spec(CASES["ceil mode pools"] + CASES["mbconv with SE"], [2, 12, 12]), batch=3, dtype="bfloat16")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_random_memory(s: Spec) -> None:
    check_memory(s)
