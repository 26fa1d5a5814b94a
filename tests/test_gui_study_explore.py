"""The Search page's Explore views (gui/study_explore.py): the same numbers as search.explore, the selected
trial drawn orange in every view, a click on a point selects its trial, duplicates hollow."""

from __future__ import annotations

import pytest

from gui.study_explore import SELECTED, StudyExplore
from search import explore
from search.records import view
from tests.test_search_explore import _study


@pytest.fixture
def panel(qtbot):
    w = StudyExplore()
    qtbot.addWidget(w)
    w.resize(900, 520)
    w.show()
    w.set_view(view(_study(with_extras=True)))
    return w


def test_importances_bars_are_optunas_numbers(panel):
    assert panel.imp == explore.importances(panel.view) and len(panel.imp) == 3
    _, heights = panel.bars.getData()
    assert list(heights) == pytest.approx(list(panel.imp.values()))
    ticks = panel.importance.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [t[1] for t in ticks] == list(panel.imp)


def test_selected_trial_is_orange_in_every_view_and_clicks_select(panel, qtbot, artifacts):
    panel.highlight(8)
    for page in range(panel.count()):
        panel.setCurrentIndex(page)
        qtbot.wait(20)
        if page == 1:
            pens = [item.opts["pen"] for item in panel.parallel.getPlotItem().listDataItems()]
            assert sum(p.color().name() == SELECTED and p.width() == 3 for p in pens) == 1
            dashed = [p for p in pens if p.style().name == "DashLine"]
            assert len(dashed) == 1  # the duplicate
        if page == 2:
            spots = {int(s.data()): s for s in panel.slice_points.scatter.points()}
            assert spots[8].brush().color().name() == SELECTED and spots[8].size() == 13
            assert spots[16].brush().color().alpha() == 0  # the duplicate: hollow
            with qtbot.waitSignal(panel.trial_clicked) as got:
                panel._clicked(None, [spots[3]])
            assert got.args == [3]
        if page == 3:
            panel.cx.setCurrentText("body[0].out")
            panel.cy.setCurrentText("train.lr")
            spots = {int(s.data()): s for s in panel.contour_points.scatter.points()}
            assert spots[8].brush().color().name() == SELECTED and panel.contour_image.image is not None
        if page == 4:
            pens = [item.opts["pen"] for item in panel.intermediate.getPlotItem().listDataItems()]
            assert sum(p.color().name() == SELECTED for p in pens) == 1
        panel.grab().save(str(artifacts / f"study_explore_{page}.png"))
