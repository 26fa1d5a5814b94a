"""The op table (arch/op_table.py) walked entry by entry: every op the IR makes has a complete entry, and
each entry's parts agree with torch (module round trip, parameter and buffer counts, MACs against
FlopCounterMode, output shapes, merge functions against the py export's code, what activations save for
backward) and with the importers (fx targets and modules resolve, ONNX types are real and have readers)."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from arch import ops
from arch.activations import ACTIVATIONS
from arch.builder import make_module
from arch.expand import expand_spec
from arch.fx_import import _CALLS, import_module
from arch.fx_targets import resolve_target
from arch.graph import Graph, Node
from arch.onnx_import import _ONNX_READERS
from arch.op_table import OPS, Op, OpSpec, RfRule, label, module_call
from arch.templates import load_template, names

X = (4, 8, 8)
# one module per class the fx importer reads, in front of it what makes its input (a 1-d one after flatten)
MODULES: list[tuple[str, nn.Module, tuple[nn.Module, ...]]] = [
    ("conv", nn.Conv2d(4, 6, 3, stride=2, padding=1), ()),
    ("grouped dilated conv", nn.Conv2d(4, 8, (3, 5), padding=(2, 4), dilation=2, groups=2, bias=False), ()),
    ("reflect conv", nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), ()),
    ("bn 2d", nn.BatchNorm2d(4, eps=1e-3, momentum=0.2), ()),
    ("bn 1d", nn.BatchNorm1d(256), (nn.Flatten(),)),
    ("max pool", nn.MaxPool2d(3, 2, 1, ceil_mode=True), ()),
    ("avg pool", nn.AvgPool2d(2), ()),
    ("n-max pool", ops.NMaxPool2d(3, 2, 1, n=3), ()),
    ("adaptive avg", nn.AdaptiveAvgPool2d(3), ()),
    ("adaptive max", nn.AdaptiveMaxPool2d((2, 3)), ()),
    ("flatten", nn.Flatten(), ()),
    ("dropout", nn.Dropout(0.3), ()),
    ("dropout 2d", nn.Dropout2d(0.1), ()),
    ("linear", nn.Linear(256, 10), (nn.Flatten(),)),
    ("lrn", nn.LocalResponseNorm(3, alpha=2e-4, beta=0.7, k=2.0), ()),
    ("channel gate", ops.ChannelGate(4, 2), ()),
    ("spatial gate", ops.SpatialGate(5), ()),
    ("layer norm", nn.LayerNorm((8, 8)), ()),
    ("group norm", nn.GroupNorm(2, 4), ()),
    ("softmax", nn.Softmax(dim=1), ()),
    ("log softmax", nn.LogSoftmax(dim=1), ()),
    *[(f"act {a.name}", getattr(nn, a.module)(), ()) for a in ACTIVATIONS],
]


def _imported(m: nn.Module, before: tuple[nn.Module, ...]) -> tuple[Graph, Node, torch.Tensor]:
    model = nn.Sequential(*before, m).eval()
    graph = import_module(model, X)
    node = graph.node(str(len(before)))
    x = nn.Sequential(*before).eval()(torch.randn(2, *X)) if before else torch.randn(2, *X)
    return graph, node, x


def test_every_op_has_one_complete_entry() -> None:
    assert set(OPS) == set(Op) and all(OPS[op].op is op for op in Op)
    for e in OPS.values():
        assert isinstance(e, OpSpec) and e.doc, e.op
        assert callable(e.count) and callable(e.saves), e.op
        assert (e.rf is RfRule.WINDOW) == (e.window is not None), e.op
        assert bool(e.merge) == bool(e.code), e.op  # a merge is built and exported from the same entry
        assert not (e.merge and e.module), e.op
        assert not e.symbol or e.merge, e.op
        assert bool(e.fx_modules) >= bool(e.from_module), e.op
        assert not e.view or e.inference_view, e.op  # a view in training is one in inference too


def test_every_op_a_spec_or_an_import_makes_is_in_the_table() -> None:
    """Every template and the fx import of a model using every mapped kind of call: the ops they make are
    the table's, and together they make every op the table declares (no dead entries)."""
    made: set[str] = set()
    for name in names():
        made |= {n.op for n in expand_spec(load_template(name)).nodes}

    class Zoo(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate = ops.ChannelGate(4, 2)
            self.spatial = ops.SpatialGate(3)
            self.pool = ops.NMaxPool2d(2, 2, n=2)
            self.lrn = nn.LocalResponseNorm(3)
            self.norm = nn.LayerNorm(4)
            self.mha = nn.MultiheadAttention(4, 2, batch_first=True)
            self.scale = nn.Parameter(torch.ones(4, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.maximum(self.lrn(x) * self.gate(x), x) * self.spatial(x) * self.scale
            t = self.norm(x.flatten(2).transpose(1, 2))  # (N, 64, 4): tokens
            t = self.mha(t, t, t, need_weights=False)[0]
            t = F.scaled_dot_product_attention(t, t, t).softmax(-1) @ t.transpose(1, 2) @ t
            x = x + torch.roll(t.transpose(1, 2).reshape(x.shape), 1, 2).exp() - 1
            x = self.pool(F.adaptive_max_pool2d(x, (8, 8)))
            x = x + torch.ones_like(x)
            return torch.cumsum(F.group_norm(x, 2).mean(1) + torch.zeros_like(x).sum(1), 1)  # cumsum: unknown

    graph = import_module(Zoo(), X)
    made |= {n.op for n in graph.nodes}
    assert made <= set(OPS)
    assert set(OPS) - made == set(), f"ops nothing makes: {sorted(set(OPS) - made)}"


@pytest.mark.parametrize("case, m, before", MODULES, ids=[c for c, _, _ in MODULES])
def test_module_round_trip_counts_and_shape(case: str, m: nn.Module, before: tuple[nn.Module, ...]) -> None:
    graph, node, x = _imported(m, before)
    e = OPS[node.op]
    assert type(m).__name__ in e.fx_modules, (case, node.op)
    with torch.no_grad():
        y = m.eval()(x)
    assert node.shape == tuple(y.shape[1:]), case
    params, buffers, macs, flops = e.count(node, graph.node(node.inputs[0]).shape)
    assert params == sum(p.numel() for p in m.parameters()), case
    assert buffers == sum(b.numel() for b in m.buffers()), case
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        m(x[:1])
    assert macs == counter.get_total_flops() // 2, case
    assert flops >= 2 * macs and (flops > 0 or node.op in ("flatten", "dropout")), case
    assert isinstance(label(node), str) and label(node)
    if e.module is not None:  # built back from the node: the same computation
        built = make_module(node)
        assert type(built).__name__ in e.fx_modules, case
        if type(built) is type(m):
            assert built.extra_repr() == m.extra_repr(), case
            built.load_state_dict(m.state_dict())
            with torch.no_grad():
                assert torch.equal(built.eval()(x), y), case
        cls, args, kwargs = module_call(node)
        assert cls == type(built).__name__


@pytest.mark.parametrize("op", sorted(e.op for e in OPS.values() if e.merge))
def test_merge_function_equals_its_exported_code(op: Op) -> None:
    e = OPS[op]
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    code = e.code.format("a", "b", all="a, b")
    assert torch.equal(e.merge(a, b), eval(code, {"torch": torch, "a": a, "b": b}))  # noqa: S307
    reference = {"add": a + b, "mul": a * b, "max": torch.maximum(a, b), "concat": torch.cat([a, b], 1)}[op]
    assert torch.equal(e.merge(a, b), reference)


def test_fx_targets_resolve_and_have_rules() -> None:
    import torchvision  # noqa: F401  (its opaque functions are listed by name)

    seen: dict[str, str] = {}
    for e in OPS.values():
        for key in e.fx_functions:
            assert key not in seen, f"{key} listed for {seen.get(key)} and {e.op}"
            seen[key] = e.op
            assert callable(resolve_target(key)), key
        for name in e.fx_modules:
            cls = getattr(ops, name, None) or getattr(nn, name)
            assert inspect.isclass(cls) and issubclass(cls, nn.Module), name
        if e.fx_functions:
            assert e.op in _CALLS or e.op == Op.CONSTANT, f"{e.op}: targets but no call rule"
    assert set(_CALLS) <= {e.op for e in OPS.values() if e.fx_functions}


def test_onnx_types_are_real_and_have_readers() -> None:
    onnx = pytest.importorskip("onnx")
    seen: dict[str, str] = {}
    for e in OPS.values():
        for t in e.onnx:
            assert t not in seen, t
            seen[t] = e.op
            assert onnx.defs.has(t), t
        assert bool(e.onnx) == (e.op in _ONNX_READERS), e.op


@pytest.mark.parametrize("a", ACTIVATIONS, ids=[a.name for a in ACTIVATIONS])
def test_activation_entries(a: object) -> None:
    """Module and functions compute the same; what autograd saves is the output or the input as declared."""
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    m = getattr(nn, a.module)()
    y = m(x)
    for key in a.functions:
        f = resolve_target(key)
        assert torch.allclose(f(x.detach().clone()), y.detach()), key
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        out = m(x)
    assert saved, a.name
    kept = saved[0]
    assert kept.data_ptr() == (out.data_ptr() if a.saves_output else x.data_ptr()), a.name
    assert a.flops >= 1
    if a.rectifier:
        assert torch.all(m(-torch.rand(10) - 0.5) <= 0)
