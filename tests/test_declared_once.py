"""Issue 14, one owner per fact: analysis columns declared once (every renderer follows the declaration),
spec paths written and read by arch.paths only, one "AxB" formatter, one "best so far"."""

from __future__ import annotations

import csv
import io

import pytest
from PyQt6.QtCore import Qt

from analysis import analyze, columns, formats, html
from analysis.columns import Column
from analysis.report_model import Comparison, Entry
from analysis.report_sections import Table, sections
from arch import paths
from arch.dims import dims
from arch.templates import load_template
from search.records import State, TrialRecord, best_so_far

PROBE = Column("probe", "probe column", lambda r: f"probe<{getattr(r, 'name', None) or r.path}>", "text")


@pytest.fixture
def probed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new figure declared once, for layers and blocks, and nowhere else."""
    monkeypatch.setattr(columns, "LAYER_COLUMNS", (*columns.LAYER_COLUMNS, PROBE))
    monkeypatch.setattr(columns, "BLOCK_COLUMNS", (*columns.BLOCK_COLUMNS, PROBE))


def test_a_column_declared_once_shows_in_every_report_renderer(probed: None) -> None:
    spec = load_template("lenet5")
    rep = analyze(spec)
    first, block = rep.layers[0].name, rep.blocks[0].path
    text = formats.table(rep)
    assert "probe column" in text and f"probe<{first}>" in text
    rows = list(csv.reader(io.StringIO(formats.to_csv(rep))))
    assert rows[0][-1] == "probe" and rows[1][-1] == f"probe<{first}>"
    md = formats.markdown(rep)
    assert md.count("probe column") == 2 and f"probe&lt;{block}>" in md  # the block and the layer tables
    page = html.report(rep)
    assert page.count("<th>probe column</th>") == 2 and f"probe&lt;{first}&gt;" in page
    compare = [p for s in sections(Comparison([Entry(rep, spec, "template:lenet5")])) for p in s.parts
               if isinstance(p, Table) and "share of MACs" in p.head]
    assert compare and "probe column" in compare[0].head
    assert compare[0].rows[0][compare[0].head.index("probe column")].startswith("probe<")


def test_every_renderer_takes_its_headers_from_the_declaration() -> None:
    rep = analyze(load_template("resnet20"))
    text_head = formats.table(rep).split("\n\n")[1].splitlines()[0].split()
    assert text_head == [c.title for c in columns.shown(columns.LAYER_COLUMNS, "text")]
    csv_head = formats.to_csv(rep).splitlines()[0].split(",")
    assert csv_head == [c.key for c in columns.LAYER_COLUMNS]  # CSV shows every figure
    page = html.report(rep)
    for c in columns.shown(columns.LAYER_COLUMNS, "html"):
        assert f"<th>{c.title}</th>" in page
    hidden = [c for c in columns.LAYER_COLUMNS if "html" in c.hide]
    assert all(f"<th>{c.title}</th>" not in page for c in hidden)


def test_the_gui_table_shows_the_declared_columns(qtbot, probed: None) -> None:  # noqa: ANN001
    from gui.analysis_table import AnalysisPanel, title
    from gui.session import Hub

    panel = AnalysisPanel(Hub())
    qtbot.addWidget(panel)
    for mode, declared in (("Layers", columns.LAYER_COLUMNS), ("Blocks", columns.BLOCK_COLUMNS)):
        model = panel.models[mode]
        heads = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
        assert heads == [title(c) for c in columns.shown(declared, "gui")] and heads[-1] == "Probe column"
    rep = analyze(load_template("lenet5"))
    model = panel.models["Layers"]
    model.set_records(rep.layers, False)
    assert model.texts(0)[-1] == f"probe<{rep.layers[0].name}>"


def test_cells_follow_the_renderer_style() -> None:
    macs = next(c for c in columns.LAYER_COLUMNS if c.key == "macs")
    layer = analyze(load_template("resnet20")).layer("body.0.conv")
    assert macs.text(layer, "raw") == str(layer.macs) == f"{layer.macs}"
    assert macs.text(layer, "exact") == f"{layer.macs:,}"
    assert macs.text(layer, "compact") == formats.count(layer.macs) != f"{layer.macs:,}"


def test_one_size_formatter() -> None:
    assert dims((3, 32, 32)) == "3x32x32" and dims((5.0, 2.5)) == "5x2.5" and dims((7, 7)) == "7x7"
    assert dims((2, 2), square=True) == "2" and dims((1, 2), square=True) == "1x2"
    assert formats.hw((5.0, 5)) == "5x5" and formats.shape_text(()) == "-"


def test_paths_are_written_and_read_by_arch_paths() -> None:
    assert paths.body(4) == "body[4]" and paths.item(paths.body(4), 1) == "body[4][1]"
    assert paths.in_path(paths.body(3), 1, 0) == "body[3].paths[1][0]" == paths.item(paths.lane("body[3]", 1), 0)
    assert paths.top_index("body[12].unit.kernel") == 12 and paths.top_index("width_mult") is None
    assert paths.top_split("body[2].first.stride") == (2, ".first.stride")
    assert paths.is_top("body[3]") and not paths.is_top("body[3][0]")
    assert paths.lane_of("body[3].paths[1]") == ("body[3]", 1) and paths.lane_of("body[3].paths[1][0]") is None
    assert paths.innermost_in_path("body[3].paths[1][0].paths[0][2].kernel") == "body[3].paths[1][0].paths[0][2]"
    assert paths.innermost_in_path("body[3][1]") is None
    for p in ("body[4].unit.kernel", "body[3].paths[1][0].out"):
        assert paths.split(paths.field(paths.block_path(p), p.rsplit(".", 1)[1])) == paths.split(p)


def _trial(n: int, state: State, acc: float | None) -> TrialRecord:
    """A complete trial has its objective values; a pruned one only its learning curve's last epoch."""
    done = state == State.COMPLETE
    curve = [{"epoch": 1, "val_acc": acc}] if acc is not None and not done else []
    return TrialRecord(n, state, {"accuracy": acc} if done else None, {}, {}, curve)


def test_best_so_far_counts_only_complete_trials() -> None:
    """A pruned trial's accuracy is its last intermediate value: it never raises the line, but the line
    goes on through it; the SVG history and the GUI history draw this same list."""
    records = [_trial(0, State.PRUNED, 0.9), _trial(1, State.COMPLETE, 0.5), _trial(2, State.PRUNED, 0.95),
               _trial(3, State.COMPLETE, 0.7), _trial(4, State.FAILED, None), _trial(5, State.COMPLETE, 0.6)]
    assert best_so_far(records) == [(1, 0.5), (2, 0.5), (3, 0.7), (5, 0.7)]
    assert best_so_far(records[:1]) == []
