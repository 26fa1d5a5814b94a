"""Every torchvision classification model, imported with torch.fx on meta tensors: params equal
sum(numel) and MACs equal torch.utils.flop_counter.FlopCounterMode / 2 (an independent count of the same
forward), with nothing left uncounted. Transformers included: their receptive field turns global at the
first attention."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from analysis import analyze
from arch.fx_import import import_module, torchvision_model, unused_parameters

ALL = torchvision.models.list_models(module=torchvision.models)
INPUT = {"inception_v3": (3, 299, 299)}  # its stem asserts nothing, but 299 is its own size
AUX = {"googlenet": ("aux1", "aux2"), "inception_v3": ("AuxLogits",)}  # training-only heads: eval never calls them


def _witness(model: torch.nn.Module, shape: tuple[int, ...]) -> int:
    """FlopCounterMode / 2 over a forward on meta tensors (a copy of the model moved there)."""
    if any(p.device.type != "meta" for p in model.parameters()):
        model = copy.deepcopy(model).to("meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.empty(1, *shape, device="meta"))
    return counter.get_total_flops() // 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_every_torchvision_classifier_is_exact(name: str) -> None:
    model = torchvision_model(name).eval()  # weights on the meta device: nothing allocated
    shape = INPUT.get(name, (3, 224, 224))
    graph = import_module(model, shape, name)
    report = analyze(graph)
    assert graph.unknown_ops == [] and not report.totals.lower_bound
    numel = sum(p.numel() for p in model.parameters())
    aux = sum(p.numel() for path in AUX.get(name, ()) for p in model.get_submodule(path).parameters())
    assert unused_parameters(model, graph) == aux
    assert report.totals.params == numel - aux
    assert report.totals.macs == _witness(model, shape)


def test_the_list_is_the_whole_zoo() -> None:
    assert len(ALL) >= 80 and {"convnext_tiny", "swin_t", "swin_v2_t", "vit_b_16", "maxvit_t"} <= set(ALL)


@pytest.mark.parametrize(("name", "first_global"), [
    ("vit_b_32", "encoder.layers.encoder_layer_0.self_attention"),
    ("swin_t", "shifted_window_attention"),
    ("convnext_tiny", "avgpool"),
])
def test_receptive_field_turns_global_at_attention(name: str, first_global: str) -> None:
    report = analyze(import_module(torchvision_model(name), (3, 224, 224), name))
    layers = [x for x in report.layers if "once" not in report.graph.node(x.name).attrs]  # not the weights
    first = next(x for x in layers if x.rf_whole_input)
    assert first.name == first_global
    assert all(x.rf_whole_input for x in layers[layers.index(first):] if x.in_shape)
    before = layers[layers.index(first) - 1]
    if name == "vit_b_32":  # one 32x32 patch per token, through reshape, class token and position embedding
        assert before.rf_size == (32, 32) and before.type == "layer_norm"
    if name == "convnext_tiny":  # channels-last linears and layer norms keep the conv field
        linear = report.layer("features.1.0.block.3")
        assert linear.type == "linear" and linear.rf_size == report.layer("features.1.0.block.0").rf_size == (28, 28)


def test_functional_conv_and_linear_with_passed_weights() -> None:
    class Functional(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(8, 3, 3, 3))
            self.fc = torch.nn.Parameter(torch.randn(5, 8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.nn.functional.conv2d(x, self.w, padding=1)
            return torch.nn.functional.linear(y.permute(0, 2, 3, 1), self.fc)

    model = Functional()
    report = analyze(import_module(model, (3, 10, 10)))
    conv = report.layer("conv2d")
    assert conv.type == "conv" and conv.rf_size == (3, 3) and conv.params == 0
    assert report.layer("w").params == 8 * 27 and report.totals.params == 8 * 27 + 40
    assert report.layer("linear").rf_size == (3, 3)  # per position: the conv's field
    assert report.totals.macs == _witness(model, (3, 10, 10)) == 100 * 8 * 27 + 100 * 8 * 5


def test_attention_ops_and_norm_memory() -> None:
    class Mixer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Conv2d(3, 16, 4, stride=4)
            self.mha = torch.nn.MultiheadAttention(16, 2, batch_first=True)
            self.norm = torch.nn.LayerNorm(16)
            self.gn = torch.nn.GroupNorm(4, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.gn(self.proj(x)).flatten(2).transpose(1, 2)
            t = self.mha(t, t, t, need_weights=False)[0]
            q = self.norm(t).unflatten(2, (2, 8)).transpose(1, 2)
            a = torch.nn.functional.scaled_dot_product_attention(q, q, q)
            s = torch.einsum("bhld,bhmd->bhlm", a, q).softmax(-1)
            return torch.bmm(s.flatten(0, 1), a.flatten(0, 1)).mean(1)

    model = Mixer().eval()
    report = analyze(import_module(model, (3, 16, 16)))
    assert report.totals.unknown_ops == []
    assert report.totals.macs == _witness(model, (3, 16, 16))
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    types = {x.name: x.type for x in report.layers}
    assert types["mha"] == "mha" and types["scaled_dot_product_attention"] == "attention"
    assert types["einsum"] == "matmul" and types["bmm"] == "matmul" and types["norm"] == "layer_norm"
    assert report.layer("proj").rf_size == (4, 4) and report.layer("gn").rf_whole_input  # group stats: global
    norm = report.layer("norm")
    assert norm.flops == 7 * 16 * 16  # 5 per value + scale and shift
    one, two = analyze(import_module(model, (3, 16, 16)), batch=1), analyze(import_module(model, (3, 16, 16)),
                                                                           batch=2)
    assert two.totals.activation_bytes_train > one.totals.activation_bytes_train > 0


def test_traced_graph_is_cached_per_model_class(monkeypatch: pytest.MonkeyPatch) -> None:
    from arch import fx_trace

    fx_trace.clear_cache()
    first = analyze(import_module(torchvision_model("resnet18"), (3, 64, 64)))

    def no_trace(module: torch.nn.Module) -> None:
        raise AssertionError("traced again")

    monkeypatch.setattr(fx_trace, "_trace", no_trace)
    again = analyze(import_module(torchvision_model("resnet18"), (3, 64, 64)))  # another instance: the cache
    assert (again.totals.params, again.totals.macs) == (first.totals.params, first.totals.macs)
    monkeypatch.undo()
    deeper = torchvision_model("resnet34")  # the same class, another configuration: traced on its own
    assert analyze(import_module(deeper, (3, 64, 64))).totals.macs == _witness(deeper, (3, 64, 64))
    assert len(fx_trace._CACHE[type(deeper)]) == 2

