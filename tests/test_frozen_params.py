"""Issue 18: the analysis shows trainable vs frozen parameters. Witness: the built model with training's own
freezing applied (``training.pretrained.freeze``), its parameters summed by ``requires_grad``, its modules
per layer, and autograd's saved tensors for the training memory; the designer's "Freeze up to here" updates
the totals the analysis table shows."""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch
from torch import nn

from analysis import analyze, columns, formats, html
from arch.builder import build
from arch.expand import build_graph
from arch.options import ConfigError
from arch.spec import Spec
from arch.templates import load_template
from main import main
from tests.test_analysis_witnesses import saved_bytes
from training.pretrained import freeze, keep_frozen_eval

torch.set_num_threads(2)
# lenet5: no normalisation; resnet20: stages of residual blocks with BN; mobilenet_mnist: BN, dropout, stages
CASES = [("lenet5", "body[0]"), ("lenet5", "body[3]"), ("lenet5", "body[7]"), ("resnet20", "body[0]"),
         ("resnet20", "body[2]"), ("resnet20", "body[6]"), ("mobilenet_mnist", "body[3]")]


def frozen_model(spec: Spec, at: str) -> tuple[nn.Module, list[str]]:
    torch.manual_seed(0)
    model = build(spec)
    return model, freeze(model, at)


def numel(model: nn.Module, trains: bool) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad == trains)


def within(name: str, modules: list[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


@pytest.mark.parametrize(("name", "at"), CASES)
def test_totals_and_layers_match_the_frozen_model(name: str, at: str) -> None:
    spec = load_template(name)
    model, names = frozen_model(spec, at)
    rep = analyze(spec, freeze=at)
    t = rep.totals
    assert (t.trainable_params, t.frozen_params) == (numel(model, True), numel(model, False))
    assert t.frozen_params > 0 and rep.freeze == at
    modules = dict(model.named_modules())
    for layer in rep.layers:
        assert layer.frozen == within(layer.name, names), layer.name  # the blocks training froze
        if layer.name in modules:  # merges (add) have no module
            own = list(modules[layer.name].parameters(recurse=False))
            assert layer.trainable_params == sum(p.numel() for p in own if p.requires_grad), layer.name
            assert layer.params - layer.trainable_params == sum(p.numel() for p in own if not p.requires_grad)
    for i, block in enumerate(modules["body"]):
        record = rep.block(f"body[{i}]")
        assert record.frozen == (f"body.{i}" in names)
        if record.frozen:
            assert record.params == sum(p.numel() for p in block.parameters() if not p.requires_grad)


@pytest.mark.parametrize(("name", "at"), [c for c in CASES if c[0] != "lenet5"])
def test_frozen_batch_norms_count_as_frozen(name: str, at: str) -> None:
    spec = load_template(name)
    model, names = frozen_model(spec, at)
    norms = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d) and within(n, names)]
    assert norms and all(not p.requires_grad for _, m in norms for p in m.parameters())
    rep = analyze(spec, freeze=at)
    assert all(rep.layer(n).frozen and rep.layer(n).trainable_params == 0 for n, _ in norms)
    assert sum(rep.layer(n).params for n, _ in norms) == sum(p.numel() for _, m in norms for p in m.parameters())


@pytest.mark.parametrize(("name", "at"), [("lenet5", "body[3]"), ("resnet20", "body[2]"),
                                          ("mobilenet_mnist", "body[3]")])
def test_training_memory_with_frozen_blocks(name: str, at: str) -> None:
    """What autograd saves in a training step with the first blocks frozen (and kept in eval mode, as training
    keeps them): only what the trainable part needs."""
    spec = load_template(name)
    model, names = frozen_model(spec, at)
    model.train()
    keep_frozen_eval(model, names)
    x = torch.randn(2, *spec.input)
    frozen = analyze(spec, batch=2, freeze=at).totals.activation_bytes_train
    assert frozen == saved_bytes(model, x)
    assert frozen < analyze(spec, batch=2).totals.activation_bytes_train


def test_a_whole_graph_freezes_as_the_spec() -> None:
    """A graph analysed without its spec's expansion (one part, not cached per block) freezes the same."""
    spec = load_template("resnet20")
    model, names = frozen_model(spec, "body[2]")
    rep = analyze(build_graph(spec), batch=2, freeze="body[2]")
    assert (rep.totals.trainable_params, rep.totals.frozen_params) == (numel(model, True), numel(model, False))
    assert [r.frozen for r in rep.layers] == [within(r.name, names) for r in rep.layers]
    model.train()
    keep_frozen_eval(model, names)
    assert rep.totals.activation_bytes_train == saved_bytes(model, torch.randn(2, *spec.input))


@pytest.mark.parametrize("name", ["lenet5", "resnet20", "mobilenet_mnist"])
def test_no_freeze_freezes_nothing(name: str) -> None:
    spec = load_template(name)
    torch.manual_seed(0)
    model = build(spec)
    rep = analyze(spec)
    assert (rep.totals.trainable_params, rep.totals.frozen_params) == (numel(model, True), 0)
    assert numel(model, False) == 0 and rep.freeze is None
    assert not any(r.frozen for r in rep.layers) and not any(b.frozen for b in rep.blocks)


def test_a_freeze_point_the_network_lacks_is_refused_as_training_refuses_it() -> None:
    spec = load_template("lenet5")
    for bad in ("body[8]", "body[03]", "stem"):
        with pytest.raises(ConfigError) as training:
            frozen_model(spec, bad)
        with pytest.raises(ConfigError) as analysis:
            analyze(spec, freeze=bad)
        assert str(analysis.value) == str(training.value) and "\n" not in str(analysis.value)


def test_every_renderer_shows_the_frozen_column_and_totals(capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_template("resnet20")
    model, names = frozen_model(spec, "body[2]")
    trainable, frozen = numel(model, True), numel(model, False)
    rep = analyze(spec, freeze="body[2]")
    line = f"trainable {trainable:,}, frozen {frozen:,} by freeze body[2]"
    text = formats.table(rep)
    assert line in text
    head = text.split("\n\n")[1].splitlines()[0].split()
    assert head[-1] == "frozen"
    rows = {r.split()[0]: r.split()[-1] for r in text.split("\n\n")[1].splitlines()[2:]}
    assert rows["body.0.conv"] == "yes" and rows["body.6.fc"] == "no"
    table = list(csv.DictReader(io.StringIO(formats.to_csv(rep))))
    assert {r["name"]: r["frozen"] for r in table} == {r.name: "yes" if r.frozen else "no" for r in rep.layers}
    assert sum(within(r["name"], names) for r in table) == sum(r["frozen"] == "yes" for r in table)
    md = formats.markdown(rep)
    assert line in md and "| frozen |" in md
    page = html.report(rep)
    assert line in page and page.count("<th>frozen</th>") == 2  # the block and the layer tables
    data = rep.to_json()
    assert (data["totals"]["trainable_params"], data["totals"]["frozen_params"]) == (trainable, frozen)
    assert data["freeze"] == "body[2]" and sum(x["frozen"] for x in data["layers"]) == sum(
        within(r.name, names) for r in rep.layers)
    assert [c.key for c in columns.shown(columns.LAYER_COLUMNS, "gui")][-1] == "frozen"

    assert main(["analyze", "template:resnet20", "--freeze", "body[2]"]) == 0
    assert line in capsys.readouterr().out
    assert main(["analyze", "template:resnet20", "--freeze", "body[2]", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["totals"]["trainable_params"], out["totals"]["frozen_params"]) == (trainable, frozen)
    assert main(["analyze", "template:resnet20", "--freeze", "body[9]"]) == 1
    err = capsys.readouterr().err
    assert "freeze: body[9]: the network has 7 body blocks" in err and "Traceback" not in err


@pytest.mark.timeout(300)
def test_freeze_up_to_here_updates_the_totals_shown(qtbot, tmp_path) -> None:  # noqa: ANN001
    from gui.freeze_marks import FROZEN
    from tests.test_gui_designer import make_window

    spec = load_template("resnet20")
    window = make_window(qtbot, tmp_path)
    window.open_spec(spec)
    panel, editor = window.design.analysis, window.design.editor
    marks = window.pages_extra.training.freeze_marks
    qtbot.waitUntil(lambda: "body[2]" in editor.items and panel.report is not None, timeout=30_000)
    total = sum(p.numel() for p in build(spec).parameters())
    assert f"trainable {total:,}, frozen 0)" in panel.totals.label.text()

    window.hub.select("body[2]")
    marks.action.trigger()  # what the right-click menu's "Freeze up to here" does
    model, _ = frozen_model(spec, "body[2]")
    shown = f"trainable {numel(model, True):,}, frozen {numel(model, False):,} by freeze body[2]"
    qtbot.waitUntil(lambda: shown in panel.totals.label.text(), timeout=30_000)
    assert marks.counts() == (numel(model, True), numel(model, False))
    layers = panel.models["Layers"]
    frozen_column = [c.key for c in layers.columns].index("frozen")
    cells = {layers.records[i].name: layers.texts(i)[frozen_column] for i in range(len(layers.records))}
    assert cells["body.0.conv"] == "yes" and cells["body.6.fc"] == "no"
    assert editor.items["body[2]"].background().color() == FROZEN
    assert editor.items["body[3]"].background().color() != FROZEN

    form = window.pages_extra.training.form
    form.editors["freeze"].set_value("body[9]")  # typed into the Training tab: a block the network lacks
    form.editors["freeze"].committed.emit("body[9]")
    qtbot.waitUntil(lambda: "the network has 7 body blocks" in panel.totals.label.text(), timeout=30_000)
    assert f"trainable {total:,}, frozen 0)" in panel.totals.label.text() and marks.counts() is None
    assert editor.items["body[0]"].background().color() != FROZEN

    window.hub.select("body[2]")
    marks.action.trigger()
    qtbot.waitUntil(lambda: shown in panel.totals.label.text(), timeout=30_000)
    marks.unfreeze.trigger()
    qtbot.waitUntil(lambda: f"trainable {total:,}, frozen 0)" in panel.totals.label.text(), timeout=30_000)
    assert marks.counts() is None and editor.items["body[0]"].background().color() != FROZEN
