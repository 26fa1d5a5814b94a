"""Property test over random nested branch specs: the analysis equals what torch does.

Every drawn network is built and checked against torch (output and per-module shapes, params, MACs and
FLOPs through FlopCounterMode / an aten counter, training and inference activation memory through
saved-tensor hooks and a node-by-node run), its receptive field against a gradient probe, and its Python
export, run in a fresh interpreter on the same weights, against the built model's outputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arch.builder import build
from arch.export.pycode import render
from arch.spec import FORMAT, Spec, parse_spec
from tests.test_analysis_counts import check
from tests.test_analysis_witnesses import check_field, check_memory

MERGE = st.sampled_from(["add", "concat", "mul", "max"])


@st.composite
def _keeping(draw: st.DrawFn, depth: int, channels: int) -> dict[str, Any]:
    """A block that keeps the size and the channel count (so it may sit anywhere on a path)."""
    kinds = ["conv", "pool", "bn", "act", "se"] + (["branch"] * 2 if depth > 0 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "conv":
        k = draw(st.sampled_from([1, 3, [1, 3], [3, 1], 5]))
        return {"block": "conv", "out": channels, "kernel": k, "dilation": draw(st.sampled_from([1, 2])),
                "bias": draw(st.booleans()), "norm": draw(st.sampled_from(["batch", "none"])),
                "activation": draw(st.sampled_from(["relu", "none", "silu"]))}
    if kind == "pool":
        return {"block": "pool", "mode": draw(st.sampled_from(["max", "avg"])), "kernel": 3, "stride": 1, "padding": 1}
    if kind == "bn":
        return {"block": "batchnorm"}
    if kind == "act":
        return {"block": "activation", "fn": draw(st.sampled_from(["relu", "tanh", "sigmoid"]))}
    if kind == "se":
        return {"block": "se", "ratio": 0.5}
    return draw(branches(depth - 1, channels, 1, keep=True))


@st.composite
def branches(draw: st.DrawFn, depth: int, channels: int, stride: int, keep: bool = False) -> dict[str, Any]:
    """A branch on ``channels`` input channels that applies ``stride`` and, unless it concatenates (never
    when it must ``keep`` the width), gives ``channels`` outputs; paths nest up to ``depth`` more levels."""
    merge = draw(st.sampled_from(["add", "mul", "max"]) if keep else MERGE)
    n = draw(st.integers(1, 3))
    lanes = []
    for _ in range(n):
        lane = []
        identity = stride == 1 and draw(st.integers(0, 3)) == 0
        if not identity:  # a first block that strides (and, for concat, may change the width)
            out = draw(st.sampled_from([2, 4, channels])) if merge == "concat" else channels
            if draw(st.booleans()):
                lane.append({"block": "conv", "out": out, "kernel": draw(st.sampled_from([1, 3])), "stride": stride,
                             "activation": "relu", "bias": False})
            else:
                lane.append({"block": "stage", "repeat": 2, "first": {"stride": stride},
                             "unit": {"block": "conv", "out": out, "kernel": 3, "bias": False}})
            lane += draw(st.lists(_keeping(depth, out), max_size=2))
        lanes.append(lane)
    if merge == "mul" and draw(st.booleans()):  # a gate path: global pool -> 1x1 -> sigmoid
        lanes.append([{"block": "global_pool"}, {"block": "conv", "out": channels, "kernel": 1, "norm": "none",
                                                 "activation": "sigmoid"}])
    block: dict[str, Any] = {"block": "branch", "merge": merge, "paths": lanes}
    if draw(st.booleans()):
        block["norm"] = "batch"
    if draw(st.booleans()):
        block["activation"] = "relu"
    return block


@st.composite
def branch_specs(draw: st.DrawFn) -> Spec:
    c = draw(st.sampled_from([2, 4]))
    side = draw(st.integers(8, 14))
    body = [{"block": "conv", "out": c, "kernel": 3, "bias": False}]
    for _ in range(draw(st.integers(1, 3))):
        stride = draw(st.sampled_from([1, 1, 2]))
        b = draw(branches(2, c, stride))
        body.append(b)
        if b["merge"] == "concat":
            body.append({"block": "conv", "out": c, "kernel": 1, "bias": False})  # back to c channels
    body += [{"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]
    return parse_spec({"format": FORMAT, "name": "nested", "input": [3, side, side], "num_classes": 3, "body": body})


FRESH = """
import json, sys, torch
sys.path.insert(0, sys.argv[1])
torch.set_num_threads(int(sys.argv[3]))  # the parent's: another thread count may sum in another order
for case in json.loads(open(sys.argv[2]).read()):
    mod = __import__(case["module"])
    model = getattr(mod, case["cls"])().eval()
    model.load_state_dict(torch.load(case["weights"], weights_only=True))
    x = torch.load(case["input"], weights_only=True)
    with torch.no_grad():
        torch.save(model(x), case["output"])
"""


@pytest.mark.slow
def test_nested_branches_equal_their_analysis_and_export(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = []

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
    @given(branch_specs())
    def one(spec: Spec) -> None:
        check(spec)  # shapes of every op and block module, params, MACs, FLOPs
        check_memory(spec)  # activations kept for backward and the peak held for merges
        assert check_field(spec)  # receptive field of the last map = gradient probe
        k = len(cases)
        module = f"nested{k}"
        (tmp_path / f"{module}.py").write_text(render(spec, module=module))
        torch.manual_seed(k)
        model = build(spec).eval()
        for m in model.modules():  # non-trivial statistics, so batch norm matters
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
        x = torch.randn(2, *spec.input)
        torch.save(model.state_dict(), tmp_path / f"{module}.pt")
        torch.save(x, tmp_path / f"{module}.in.pt")
        with torch.no_grad():
            expected = model(x)
        cases.append({"module": module, "cls": _model_class(tmp_path / f"{module}.py"),
                      "weights": str(tmp_path / f"{module}.pt"), "input": str(tmp_path / f"{module}.in.pt"),
                      "output": str(tmp_path / f"{module}.out.pt"), "expected": expected})

    one()
    assert len(cases) >= 10
    listing = tmp_path / "cases.json"
    listing.write_text(json.dumps([{k: v for k, v in c.items() if k != "expected"} for c in cases]))
    subprocess.run([sys.executable, "-c", FRESH, str(tmp_path), str(listing), str(torch.get_num_threads())],
                   check=True, timeout=300)
    for c in cases:
        got = torch.load(c["output"], weights_only=True)
        assert torch.equal(got, c["expected"]), c["module"]


def _model_class(path: Path) -> str:
    """The last class of an exported file is the model."""
    return [line.split()[1].split("(")[0] for line in path.read_text().splitlines() if line.startswith("class ")][-1]
