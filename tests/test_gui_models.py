"""The designer's Qt-free parts: edits, documents, branch structure, recovery files, units, images."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from arch.errors import SpecError
from arch.expand import build_graph
from arch.paths import get_value
from arch.spec import dumps, loads
from arch.templates import load_template
from gui import edits
from gui.branches import Merge, Run, Walker
from gui.document import Document, Workspace
from gui.recovery import RecoveryStore
from gui.sample_image import shapes_image


@pytest.fixture
def resnet18():
    return load_template("resnet18")


# ------------------------------------------------------------------------------------------ edits
def test_body_edits_are_pure_and_named(resnet18) -> None:
    before = dumps(resnet18)
    moved = edits.move_block(resnet18, 1, 0)
    assert moved.title == "Move body[1] up"
    assert [b.block for b in moved.spec.body[:2]] == ["pool", "conv"]
    dup = edits.duplicate_block(resnet18, 0)
    assert dup.spec.body[0] == dup.spec.body[1] and dup.spec.body[0] is not dup.spec.body[1]
    gone = edits.remove_block(resnet18, 7)
    assert len(gone.spec.body) == 8 and gone.title == "Delete body[7] (flatten)"
    assert dumps(resnet18) == before  # the original is never touched


def test_wrap_and_unwrap_stage_round_trip(resnet18) -> None:
    wrapped = edits.wrap_in_stage(resnet18, 0).spec  # one repeat, the stem's stride moved into "first"
    stem = wrapped.body[0].params
    assert wrapped.body[0].block == "stage" and stem["repeat"] == 1 and stem["first"] == {"stride": 2}
    assert {**stem["unit"].params, **stem["first"]} == resnet18.body[0].params
    assert [(n.op, n.shape) for n in build_graph(wrapped).nodes] == [(n.op, n.shape) for n in
                                                                     build_graph(resnet18).nodes]
    unwrapped = edits.unwrap_stage(resnet18, 3).spec  # stage x2 with first stride 2
    assert len(unwrapped.body) == len(resnet18.body) + 1
    assert unwrapped.body[3].params == {"out": 128, "stride": 2}
    assert unwrapped.body[4].params == {"out": 128}
    # written out, the repeats build exactly the same layers
    a, b = build_graph(resnet18), build_graph(unwrapped)
    assert [(n.op, n.shape) for n in a.nodes] == [(n.op, n.shape) for n in b.nodes]
    with pytest.raises(SpecError, match="not a stage"):
        edits.unwrap_stage(resnet18, 0)


def test_set_field_validates_and_names_the_field(resnet18) -> None:
    edit = edits.set_field(resnet18, "body[0].kernel", 5)
    assert get_value(edit.spec, "body[0].kernel") == 5 and edit.title == "Set body[0].kernel to 5"
    with pytest.raises(SpecError) as e:
        edits.set_field(resnet18, "body[0].groups", 3)
    assert e.value.problems[0].path == "body[0].groups" and "must divide out 64" in e.value.problems[0].message
    cleared = edits.set_field(resnet18, "body[3].first.stride", None)
    assert "first" not in cleared.spec.body[3].params and cleared.title == "Clear body[3].first.stride"
    reset = edits.reset_field(resnet18, "body[0].kernel")
    assert "kernel" not in reset.spec.body[0].params and get_value(reset.spec, "body[0].kernel") == 3


def test_change_family_keeps_shared_fields_and_valid_overrides(resnet18) -> None:
    edit = edits.change_family(resnet18, "body[3].unit", "inverted_residual")
    stage = edit.spec.body[3]
    assert stage.params["unit"].block == "inverted_residual"
    assert stage.params["unit"].params == {"out": 128}  # 'out' exists in both; residual-only fields dropped
    assert stage.params["first"] == {"stride": 2}  # stride 2 is a valid inverted-residual stride
    assert not build_graph(edit.spec).problems


def test_settings_are_validated_like_a_file(resnet18) -> None:
    edit = edits.set_setting(resnet18, "input", [3, 64, 64])
    assert edit.spec.input == (3, 64, 64) and edit.title == "Set input to [3, 64, 64]"
    with pytest.raises(SpecError, match="num_classes"):
        edits.set_setting(resnet18, "num_classes", 0)
    with pytest.raises(SpecError, match="the name"):
        edits.set_setting(resnet18, "name", 'a "quoted" name')


def test_new_stage_gets_a_unit_and_insert_validates() -> None:
    spec = load_template("lenet5")
    edit = edits.add_family(spec, "stage", 2)
    assert edit.spec.body[2].block == "stage" and edit.spec.body[2].params["unit"].block == edits.DEFAULT_UNIT
    assert loads(dumps(edit.spec)) == edit.spec  # a saveable spec


def test_apply_fix_is_one_edit(resnet18) -> None:
    edit = edits.apply_fix(resnet18, "two things", [("body[0].kernel", 5), ("body[3].first.stride", 1)])
    assert get_value(edit.spec, "body[0].kernel") == 5 and get_value(edit.spec, "body[3].first.stride") == 1
    assert edit.title == "Apply fix: two things"


# -------------------------------------------------------------------------------------- documents
def test_document_dirty_follows_revisions(resnet18) -> None:
    doc = Document(resnet18)
    seen = []
    doc.subscribe(lambda d: seen.append(d.revision))
    assert not doc.dirty
    saved_revision = doc.revision
    doc.set_spec(edits.set_field(resnet18, "body[0].kernel", 5).spec)
    assert doc.dirty
    doc.set_spec(resnet18, saved_revision)  # undo back to the saved snapshot
    assert not doc.dirty and seen == [seen[0], saved_revision]
    assert Document(resnet18, dirty=True).dirty


def test_workspace_opens_closes_and_finds(tmp_path, resnet18) -> None:
    ws = Workspace()
    events = []
    ws.subscribe(lambda event, doc: events.append((event, doc.title)))
    a = ws.open(resnet18, tmp_path / "a.json")
    b = ws.open(load_template("lenet5"))
    assert ws.current is b and ws.find(tmp_path / "a.json") is a and ws.find(tmp_path / "x.json") is None
    ws.close(b)
    assert ws.current is a
    assert events == [("opened", "a.json"), ("current", "a.json"), ("opened", "LeNet-5"), ("current", "LeNet-5"),
                      ("closed", "LeNet-5"), ("current", "a.json")]


# --------------------------------------------------------------------------------------- branches
def _branches(template: str, path: str) -> list[list]:
    graph = build_graph(load_template(template))
    merges = [i for i in Walker(graph).structure(graph.block(path)) if isinstance(i, Merge)]
    return [m.branches for m in merges]


def test_branches_come_from_the_graph() -> None:
    (resnet,) = _branches("resnet18", "body[3][0]")
    assert len(resnet) == 2 and all(resnet)  # conv path and the 1x1 projection shortcut
    (identity,) = _branches("resnet18", "body[3][1]")
    assert [bool(b) for b in identity] == [True, False]  # the second path is the identity
    (inception,) = _branches("googlenet", "body[5]")
    assert len(inception) == 4
    graph = build_graph(load_template("googlenet"))
    info = graph.block("body[5]")
    shown = {n.name for b in inception for part in b for n in part.nodes}
    assert shown == set(info.nodes) - {info.output}  # every op but the concat is on a branch
    se = Walker(graph := build_graph(load_template("efficientnet_b0"))).structure(graph.block("body[1][0]"))
    assert [type(i) for i in se] == [Run, Merge, Run]  # depthwise, SE gate (x * gate), projection
    assert [bool(b) for b in se[1].branches] == [False, True]


def test_branch_lines_read_like_the_block() -> None:
    graph = build_graph(load_template("resnet18"))
    lines = Walker(graph).branch_lines(graph.block("body[3][0]"))
    assert lines == ["conv 3x3/2, 128 · bn · relu → conv 3x3/1, 128 · bn", "conv 1x1/2, 128 · bn"]


# --------------------------------------------------------------------------------------- recovery
def test_recovery_keeps_only_files_of_dead_processes(tmp_path, resnet18) -> None:
    store = RecoveryStore(tmp_path / "rec")
    store.write("mine", resnet18, tmp_path / "net.json")
    assert store.orphans() == []  # this process is alive: not a crash
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record = json.loads((tmp_path / "rec" / "mine.json").read_text())
    record["pid"] = int(dead.stdout)
    (tmp_path / "rec" / "mine.json").write_text(json.dumps(record))
    (tmp_path / "rec" / "broken.json").write_text("{not json")
    (found,) = store.orphans()
    assert found.name == "ResNet-18" and found.source == str(tmp_path / "net.json")
    assert loads(found.text) == resnet18
    assert not (tmp_path / "rec" / "broken.json").exists()
    store.remove(found)
    assert store.orphans() == [] and os.listdir(tmp_path / "rec") == []


# ----------------------------------------------------------------------------------------- images
def test_sample_image_has_the_input_size() -> None:
    rgb = shapes_image(28, 40, 3)
    assert rgb.shape == (28, 40, 3) and rgb.dtype == np.uint8 and rgb.std() > 10
    grey = shapes_image(28, 28, 1)
    assert (grey[..., 0] == grey[..., 1]).all()
    assert (shapes_image(32, 32) == shapes_image(32, 32)).all()  # deterministic
