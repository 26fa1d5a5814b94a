"""The analysis table after an edit: no reset while the rows stay the same, only the rows on screen are
compared and signalled (every row while a sort needs them), and every row, on screen or not, shows the
fresh analysis (the witness: the engine's records for the same spec, formatted independently here)."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from analysis import analyze
from analysis.formats import hw
from arch.spec import BlockSpec, Spec
from gui import edits
from gui.analysis_table import DISPLAY, AnalysisPanel
from gui.document import Document
from gui.session import Hub, Session

RF = 9  # the RF column of the layer table


def chain(n: int = 40) -> Spec:
    """A plain stack of convs: a kernel edit early on moves the field of every later layer."""
    body = [BlockSpec("conv", {"out": 8}) for _ in range(n)] + [BlockSpec("global_pool")]
    return Spec(name="chain", input=(3, 96, 96), num_classes=4, body=body)


@pytest.fixture
def panel(qtbot):
    hub = Hub()
    view = AnalysisPanel(hub)
    qtbot.addWidget(view)
    view.resize(900, 240)
    view.show()
    qtbot.waitExposed(view)
    session = Session(Document(chain()))
    hub.set_session(session)
    hub.select("body[35]")  # the table scrolls to the end: the first rows are off screen
    yield view, hub
    session.close()


def texts(view: AnalysisPanel, column: int) -> list[str]:
    model = view.models["Layers"]
    return [model.data(model.index(row, column), DISPLAY) for row in range(model.rowCount())]


def test_an_edit_signals_only_the_changed_rows_on_screen_and_every_row_shows_the_new_figures(panel) -> None:
    view, hub = panel
    model = view.models["Layers"]
    on_screen = view._rows_on_screen()
    assert 0 < len(on_screen) < model.rowCount() and on_screen.start > 10
    resets, changed = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))

    assert hub.apply(edits.set_field, "body[2].kernel", 7) is None
    assert not resets and changed and all(a >= on_screen.start and b < on_screen.stop for a, b in changed)
    fresh = analyze(hub.evaluation.spec)
    # rows off screen are fresh too (a layer after global pooling sees the whole input)
    assert texts(view, RF) == ["global" if r.rf_whole_input else hw(r.rf_size) for r in fresh.layers]
    assert model.records == fresh.layers

    changed.clear()
    assert hub.apply(edits.set_field, "body[39].out", 16) is None  # only the last rows change
    assert not resets and all(a >= on_screen.start for a, _ in changed)
    assert texts(view, 4) == ["x".join(map(str, r.out_shape)) for r in analyze(hub.evaluation.spec).layers]


def test_sorted_and_filtered_rows_follow_every_edit(panel) -> None:
    view, hub = panel
    model = view.models["Layers"]
    view.table.sortByColumn(RF, Qt.SortOrder.DescendingOrder)
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    assert hub.apply(edits.set_field, "body[1].kernel", 9) is None
    assert changed == [(0, model.rowCount() - 1)]
    layers = analyze(hub.evaluation.spec).layers
    by_field = sorted(layers, key=lambda r: r.rf_size[0] * r.rf_size[1], reverse=True)  # stable, as the table
    assert texts(view, 0) == [r.name for r in by_field]
    view.filter.setText(".BN")  # any case
    assert texts(view, 0) == [r.name for r in by_field if ".bn" in r.name] and model.rowCount() == 40
    hub.select("body[30]")
    selected = [model.record(i.row()).name for i in view.table.selectionModel().selectedRows()]
    assert selected == ["body.30.bn"]
    view.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # back to graph order
    view.filter.clear()
    assert texts(view, 0) == [r.name for r in layers]


def test_a_structural_edit_resets_and_the_selection_follows_the_block(panel) -> None:
    view, hub = panel
    model = view.models["Layers"]
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    assert hub.apply(edits.remove_block, 0) is None
    assert resets and model.rowCount() == len(analyze(hub.evaluation.spec).layers)
    hub.select("body[20]")
    rows = {i.row() for i in view.table.selectionModel().selectedRows()}
    assert {model.record(r).block for r in rows} == {"body[20]"} and len(rows) == 3  # conv, bn, act
