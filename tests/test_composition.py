"""Composition in the spec: the branch block, residual's shortcut none, paths into branches, search spaces
inside paths, readable module names, the alignment lint, and convsmith/1 files keeping their meaning."""

from __future__ import annotations

import json

import pytest
import torch

from analysis import analyze
from arch.builder import build
from arch.errors import SpecError
from arch.expand import build_graph
from arch.paths import block_path, get_block, get_value, with_block, with_value
from arch.search_space import parse_space
from arch.spec import FORMAT, BlockSpec, dumps, load, loads, parse_block, parse_spec
from tests.conftest import ROOT

CONV = {"block": "conv", "out": 8, "kernel": 3, "bias": False}


def spec_of(body: list[dict], input_shape: list[int] | None = None, **extra) -> object:
    return parse_spec({"format": FORMAT, "name": "t", "input": input_shape or [3, 16, 16], "num_classes": 4,
                       "body": body + [{"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}],
                       **extra})


RESIDUAL = {"block": "branch", "merge": "add", "activation": "relu",
            "paths": [[CONV, {**CONV, "activation": "none"}], []]}
INCEPTION = {"block": "branch", "merge": "concat", "paths": [
    [{**CONV, "kernel": 1}], [{**CONV, "kernel": 1}, {"block": "branch", "merge": "max", "paths": [[CONV], []]}],
    [{"block": "stage", "repeat": 2, "unit": CONV}], [{"block": "pool", "kernel": 3, "stride": 1, "padding": 1}]]}


def test_branch_round_trips_through_json() -> None:
    s = spec_of([CONV, RESIDUAL, INCEPTION])
    text = dumps(s)
    assert loads(text) == s and dumps(loads(text)) == text
    assert '"paths": [[' in text


def test_merge_shape_error_names_paths_shapes_and_fix() -> None:
    bad = {"block": "branch", "merge": "add", "paths": [[{**CONV, "out": 128, "stride": 2}], [{**CONV, "out": 64}]]}
    graph = build_graph(spec_of([{**CONV, "out": 64, "stride": 2}, bad], [3, 56, 56]))
    (p,) = graph.problems
    assert p.path == "body[1]"
    assert p.message == ("paths[1] gives 64x28x28, paths[0] 128x14x14: cannot add them; "
                         "add a 1x1 conv with stride 2 and 128 outputs to paths[1]")
    concat = {"block": "branch", "merge": "concat", "paths": [[{**CONV, "stride": 2}], []]}
    (p,) = build_graph(spec_of([concat], [3, 16, 16])).problems
    assert "paths[1] gives 3x16x16, paths[0] 8x8x8: cannot concat them; add a pool with stride 2" in p.message
    inner = {"block": "branch", "paths": [[{"block": "linear"}]]}
    (p,) = build_graph(spec_of([{"block": "branch", "paths": [[inner]]}])).problems
    assert p.path == "body[0].paths[0][0].paths[0][0]"  # the innermost block names itself


def test_field_errors_inside_paths_name_the_path() -> None:
    with pytest.raises(SpecError) as e:
        spec_of([{"block": "branch", "paths": [[], [{"block": "conv", "kernal": 3}]]}])
    assert e.value.problems[0].path == "body[0].paths[1][0].kernal"
    with pytest.raises(SpecError) as e:
        spec_of([{"block": "branch", "paths": []}])
    assert e.value.problems[0].path == "body[0].paths"
    with pytest.raises(SpecError) as e:
        spec_of([{"block": "branch", "paths": [{"block": "conv"}]}])
    assert "must be a list of paths" in e.value.problems[0].message


def test_built_modules_have_readable_stable_names() -> None:
    s = spec_of([CONV, RESIDUAL, INCEPTION])
    names = dict(build(s).named_modules())
    for name in ("body.1.paths.0.0.conv", "body.1.paths.0.1.bn", "body.2.paths.1.1.paths.0.0.conv",
                 "body.2.paths.2.0.1.conv", "body.2.paths.3.0.pool"):
        assert name in names, name
    assert {b.path for b in build_graph(s).blocks} >= {"body[2].paths[1][1].paths[0][0]", "body[2].paths[2][0][1]"}
    # an edit inside one path keeps every other module's name
    edited = with_value(s, "body[2].paths[0][0].out", 16)
    assert set(dict(build(edited).named_modules())) == set(names)


def test_paths_address_fields_inside_branches() -> None:
    s = spec_of([CONV, INCEPTION])
    assert get_value(s, "body[1].paths[1][1].paths[0][0].kernel") == 3
    assert block_path("body[1].paths[1][1].paths[0][0].kernel") == "body[1].paths[1][1].paths[0][0]"
    t = with_value(s, "body[1].paths[1][1].paths[0][0].kernel", 5)
    assert get_value(t, "body[1].paths[1][1].paths[0][0].kernel") == 5 and get_value(s, "body[1].paths[1][1]"
                                                                                        ".paths[0][0].kernel") == 3
    assert get_value(s, "body[1].paths[2][0].unit.out") == 8
    u = with_block(s, "body[1].paths[3][0]", BlockSpec("pool", {"mode": "avg", "kernel": 3, "stride": 1,
                                                                 "padding": 1}))
    assert get_block(u, "body[1].paths[3][0]").params["mode"] == "avg"
    with pytest.raises(SpecError, match="the branch has 4 paths"):
        get_block(s, "body[1].paths[4][0]")
    with pytest.raises(SpecError, match="must be one of"):
        with_value(s, "body[1].merge", "sum")


def test_shortcut_none_is_the_plain_block() -> None:
    res = {"block": "residual", "out": 16, "stride": 2}
    with_shortcut, plain = spec_of([res]), spec_of([{**res, "shortcut": "none"}])
    a, b = analyze(with_shortcut), analyze(plain)
    ops = [n.op for n in build_graph(plain).nodes]
    assert "add" not in ops and "add" in [n.op for n in build_graph(with_shortcut).nodes]
    shortcut = 3 * 16 + 2 * 16  # the 1x1 projection and its batch norm
    assert a.totals.params - b.totals.params == shortcut
    keys = set(build(with_shortcut).state_dict()) - set(build(plain).state_dict())
    assert all(k.startswith("body.0.shortcut.") for k in keys)
    assert "no shortcut" in build_graph(plain).blocks[0].summary


def test_merges_compute_what_they_say() -> None:
    for merge, fn in (("add", torch.add), ("mul", torch.mul), ("max", torch.maximum)):
        s = spec_of([{"block": "branch", "merge": merge, "paths": [[{**CONV, "out": 3}], []]}])
        model = build(s).eval()
        x = torch.randn(1, 3, 16, 16)
        branch = model.body[0]
        with torch.no_grad():
            assert torch.equal(branch(x), fn(branch.get_submodule("paths.0.0")(x), x))


def test_search_targets_fields_and_families_inside_paths() -> None:
    space = {"body[1].paths[1][0].kernel": {"choices": [1, 3]},
             "body[1].paths[0][0]": {"blocks": [{**CONV, "kernel": 1}, {"block": "separable", "out": 8}]}}
    s = spec_of([CONV, INCEPTION], search=space)
    parsed = parse_space(s)
    assert [d.name for d in parsed.dims] == ["body[1].paths[1][0].kernel"]
    assert parsed.slots[0].name == "body[1].paths[0][0]"
    out, _ = parsed.apply(s, {"body[1].paths[1][0].kernel": 1, "body[1].paths[0][0].block": "separable"})
    assert get_block(out, "body[1].paths[0][0]").block == "separable"
    assert get_value(out, "body[1].paths[1][0].kernel") == 1
    assert build_graph(out).ok
    with pytest.raises(SpecError) as e:
        parse_space(spec_of([CONV, INCEPTION], search={"body[1].paths": {"choices": [1]}}))
    assert e.value.problems[0].path == "search.body[1].paths"
    assert "not a searchable field of branch" in e.value.problems[0].message


def test_alignment_lint_through_paths() -> None:
    odd = {"block": "branch", "merge": "add", "paths": [[{**CONV, "kernel": 2, "padding": "same"}], [CONV]]}
    lints = [x for x in analyze(spec_of([CONV, odd])).lints if x.code == "paths-misaligned"]
    assert len(lints) == 1 and lints[0].block == "body[1]"
    assert "centre 0.5x0.5" in lints[0].message and "centre 0x0" in lints[0].message
    assert not [x for x in analyze(spec_of([CONV, RESIDUAL, INCEPTION])).lints if x.code == "paths-misaligned"]


def test_per_path_records_roll_up_into_the_branch() -> None:
    rep = analyze(spec_of([CONV, INCEPTION]))
    blocks = {b.path: b for b in rep.blocks}
    inner = [b for b in rep.blocks if b.parent == "body[1]"]
    assert {b.path for b in inner} == {"body[1].paths[0][0]", "body[1].paths[1][0]", "body[1].paths[1][1]",
                                       "body[1].paths[2][0]", "body[1].paths[3][0]"}
    assert blocks["body[1]"].params == sum(b.params for b in inner)
    assert blocks["body[1]"].macs == sum(b.macs for b in inner)


def test_v1_files_mean_the_same() -> None:
    """convsmith/1 fixtures (the templates committed before this change) give the figures, module names and
    seeded logits that the code at that commit gave (recorded in spec_v1_figures.json via git archive HEAD)."""
    from arch.expand import build_graph as graph_of

    figures = json.loads((ROOT / "tests" / "fixtures" / "spec_v1_figures.json").read_text())
    import hashlib

    for name, want in figures.items():
        spec = load(ROOT / "tests" / "fixtures" / "spec_v1" / f"{name}.json")
        shape = tuple(want["input"])
        assert graph_of(spec, shape).ok
        r = analyze(spec, shape)
        assert (r.totals.params, r.totals.macs, r.totals.flops) == (want["params"], want["macs"], want["flops"]), name
        torch.manual_seed(0)
        model = build(spec, shape).eval()
        assert hashlib.sha256("\n".join(model.state_dict()).encode()).hexdigest() == want["keys"], name
        x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            got = model(x).flatten()[:8]
        assert torch.allclose(got, torch.tensor(want["logits"]), atol=1e-5), name


def test_docs_state_the_format_version() -> None:
    text = (ROOT / "docs" / "spec-format.md").read_text()
    assert f"({FORMAT})" in text.splitlines()[0] and "body[3].paths[1][0].kernel" in text
    assert "## Branches and merges" in text


def test_parse_block_of_a_nested_branch_is_checked_recursively() -> None:
    problems: list = []
    assert parse_block({"block": "branch", "paths": [[{"block": "branch", "paths": [[{"block": "nope"}]]}]]},
                       "body[0]", problems) is None
    assert problems[0].path == "body[0].paths[0][0].paths[0][0]"


def test_compare_report_shows_the_naive_vs_reduced_inception_ratio(capsys) -> None:
    from arch.templates import load_template
    from main import main

    naive, reduced = analyze(load_template("inception_naive")), analyze(load_template("inception_reduced"))
    ratio = naive.totals.macs / reduced.totals.macs
    assert round(ratio, 1) == 2.4 and round(naive.totals.params / reduced.totals.params, 1) == 2.4
    assert main(["compare", "template:inception_naive", "template:inception_reduced", "--format", "md"]) == 0
    text = capsys.readouterr().out
    assert f"{ratio:.1f}x fewer than Inception naive" in text
    assert f"{naive.totals.params:,}" in text and f"{reduced.totals.params:,}" in text


def test_onnx_and_torchscript_exports_of_branches(tmp_path) -> None:
    import onnxruntime

    from arch.export import export
    from arch.export.example import quiet
    from tests.test_blocks import randomise_bn_stats

    gate = {"block": "branch", "merge": "mul", "paths": [[], [{"block": "global_pool"}, {
        "block": "conv", "out": 8, "kernel": 1, "norm": "none", "activation": "sigmoid"}]]}
    s = spec_of([CONV, RESIDUAL, {"block": "branch", "merge": "max", "norm": "batch", "paths": [[CONV], [CONV]]},
                 gate, INCEPTION])
    model = randomise_bn_stats(build(s)).eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        want = model(x)
    export(s, "onnx", tmp_path / "b.onnx", weights=model.state_dict())
    (got,) = onnxruntime.InferenceSession(str(tmp_path / "b.onnx")).run(None, {"input": x.numpy()})
    assert torch.allclose(torch.from_numpy(got), want, atol=1e-5)
    export(s, "torchscript", tmp_path / "b.pt", weights=model.state_dict())
    with quiet():  # torch announces the deprecation of its own loader
        loaded = torch.jit.load(str(tmp_path / "b.pt"))
    assert list(loaded.state_dict()) == list(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(loaded(x), want, atol=1e-6)


def test_hostile_nesting_is_one_clear_problem() -> None:
    block: dict = {"block": "conv"}
    for _ in range(200):
        block = {"block": "branch", "paths": [[block]]}
    with pytest.raises(SpecError) as e:
        spec_of([block])
    assert len(e.value.problems) == 1 and "nested more than 32 deep" in e.value.problems[0].message  # arch/limits.py
