"""Composition edits (gui/branch_edits.py, Qt-free): moves into, out of and between paths, adding paths,
wrapping a run of blocks in a branch and unwrapping it, each leaving a field-valid spec."""

from __future__ import annotations

import dataclasses

import pytest

from analysis import analyze
from arch.errors import SpecError
from arch.expand import build_graph
from arch.paths import get_block
from arch.spec import dumps
from arch.templates import load_template
from gui import branch_edits as be
from tests.test_composition import CONV, INCEPTION, RESIDUAL, spec_of


def _totals(spec) -> dict:
    return dataclasses.asdict(analyze(spec).totals)


def test_wrap_and_unwrap_keep_the_network() -> None:
    for spec, first, last in ((load_template("resnet18"), "body[2]", "body[4]"),
                              (spec_of([CONV, RESIDUAL, INCEPTION]), "body[2].paths[1][0]", "body[2].paths[1][1]"),
                              (load_template("inception_v3"), "body[7]", "body[7]")):
        wrapped = be.wrap_in_branch(spec, first, last).spec
        assert _totals(wrapped) == _totals(spec)
        assert get_block(wrapped, first).block == "branch"
        back = be.unwrap_branch(wrapped, first).spec
        assert dumps(back) == dumps(spec)


def test_add_path_and_move_between_paths() -> None:
    s = spec_of([CONV, {"block": "branch", "merge": "concat", "paths": [[CONV], [CONV, {**CONV, "out": 4}]]}])
    s = be.add_path(s, "body[1]").spec
    assert get_block(s, "body[1]").params["paths"][2] == []
    moved = be.move(s, "body[1].paths[1][1]", "body[1].paths[2]", 0).spec  # between paths
    assert [len(p) for p in get_block(moved, "body[1]").params["paths"]] == [1, 1, 1]
    assert analyze(moved).graph.output.shape == (4,)
    out = be.move(moved, "body[1].paths[2][0]", "body", 0).spec  # out of a path
    assert out.body[0].params["out"] == 4 and get_block(out, "body[2]").params["paths"][2] == []
    into = be.move(out, "body[0]", "body[2].paths[2]", 0).spec  # into a path
    assert dumps(into) == dumps(moved)
    with pytest.raises(SpecError, match="into one of its own paths"):
        be.move(s, "body[1]", "body[1].paths[0]", 0)
    with pytest.raises(SpecError, match="a branch keeps one"):
        be.remove_path(spec_of([{"block": "branch", "paths": [[CONV]]}]), "body[0]", 0)
    assert len(get_block(be.remove_path(s, "body[1]", 2).spec, "body[1]").params["paths"]) == 2


def test_unwrap_refuses_what_would_change_the_network() -> None:
    with pytest.raises(SpecError, match="only a branch of one path"):
        be.unwrap_branch(spec_of([CONV, RESIDUAL]), "body[1]")
    with pytest.raises(SpecError, match="is a conv, not a branch"):
        be.unwrap_branch(spec_of([CONV]), "body[0]")


def test_a_moved_block_is_validated_where_it_lands() -> None:
    s = spec_of([{"block": "flatten"}, {"block": "linear", "out": 8}])
    edit = be.move(s, "body[1]", "body", 0)
    assert edit.spec.body[0].block == "linear"  # field-valid; the shape problem shows on the block
    assert build_graph(edit.spec).problems[0].path == "body[0]"
