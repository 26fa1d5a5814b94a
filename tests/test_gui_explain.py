"""The derivation card and the convolution playground, driven as a person would, with screenshots for
the README (artifacts/)."""

from __future__ import annotations

from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QImage

from analysis import derive
from analysis import playground as pg
from gui.main_window import MainWindow
from tests.test_gui_designer import make_window


def _window(qtbot, tmp_path) -> MainWindow:
    window = make_window(qtbot, tmp_path)
    window.resize(1600, 1000)
    qtbot.wait(50)
    return window


def _drawn(path) -> None:
    image = QImage(str(path))
    colours = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 19)}
    assert len(colours) > 20


def test_derivation_card_follows_selection(qtbot, tmp_path, artifacts) -> None:
    window = _window(qtbot, tmp_path)
    window.new_document("alexnet")
    window.design.docks["derivation"].raise_()
    window.hub.select("body[0]")
    card = window.derivation
    assert card.layer.currentData() == "body.0.conv"
    report = window.hub.evaluation.shown
    html = card.text.toHtml()
    for step in derive.derive(report, "body.0.conv").steps:  # every step shown, with its numbers
        assert step.working.split(" = ")[-1].replace(",", "") in html.replace(",", "")
    assert "(11·11·3 / 1 + 1) · 64 = 23,296" in card.text.toPlainText()
    window.design.analysis.layer_chosen.emit("body.1.pool")  # a layer picked in the analysis table
    assert card.layer.currentData() == "body.1.pool" and "floor(52 / 2) + 1" in card.text.toPlainText()
    window.hub.select("body[2]")
    assert card.layer.currentData() == "body.2.conv"
    window.design.docks["derivation"].hide()  # a hidden card waits, then catches up when shown
    window.hub.select("body[3]")
    assert card.layer.currentData() == "body.2.conv"
    window.design.docks["derivation"].show()
    qtbot.waitUntil(lambda: card.layer.currentData() == "body.3.pool")
    window.design.docks["rf"].raise_()  # behind another tab of its dock area: not on screen, so it waits
    qtbot.waitUntil(lambda: not card._on_screen)
    window.hub.select("body[4]")
    assert card.layer.currentData() == "body.3.pool"
    window.design.docks["derivation"].raise_()
    qtbot.waitUntil(lambda: card.layer.currentData() == "body.4.conv")
    window.design.resizeDocks([window.design.docks["derivation"]], [600], Qt.Orientation.Horizontal)
    qtbot.wait(50)
    path = artifacts / "derivation_card.png"
    assert window.grab().save(str(path))
    _drawn(path)


def test_playground_reflect_stride_dilation(qtbot, tmp_path, artifacts) -> None:
    window = _window(qtbot, tmp_path)
    page = window.playground
    window.pages_extra.show(page)
    page.set_state(source="sample image crop", rows=9, cols=9, seed=8, kernel="sobel_x", mode="reflect",
                   amount="same", stride=2, dilation=2, out_row=1, out_col=2)
    res = page.result
    x = page._input()
    ref = pg.convolve(x, pg.kernel("sobel_x"), 2, 2, "same", "reflect")
    assert res.output == ref.output and len(res.output) == 5  # floor((9 + 2 + 2 - 2·2 - 1) / 2) + 1
    assert "floor((9 + 2 + 2 - 2·(3 - 1) - 1) / 2) + 1 = 5" in page.arith.text()
    assert sum(map(sum, res.padding_mask)) == 13 * 13 - 81
    win = res.window(1, 2)
    assert page.padded_view.marked == set(win.cells) and f"= {win.total:.2f}" in page.arith.text()
    # clicking an output cell moves the window there
    view = page.output_view
    cell, x0, y0 = view._geometry()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPointF(x0 + 3.5 * cell, y0 + 0.5 * cell).toPoint())
    assert (page.out_row.value(), page.out_col.value()) == (0, 3)
    page.set_state(flip=True)
    assert page.result.output[0][0] == -ref.output[0][0]  # Sobel is antisymmetric: flipping negates it
    page.set_state(flip=False, out_row=1, out_col=2)
    qtbot.wait(50)
    path = artifacts / "playground.png"
    assert window.grab().save(str(path))
    _drawn(path)
    page.set_state(mode="reflect", amount="full", rows=2, cols=2)  # reflect larger than the input: said so
    assert "reflect padding must be smaller" in page.error.text()
    page.set_state(dims="1-D", rows=1, cols=12, amount="same", kernel="derivative")
    assert len(page.result.output) == 1 and page.error.text() == ""


def test_lesson_plain_vs_residual(qtbot, tmp_path, artifacts) -> None:
    window = _window(qtbot, tmp_path)
    window.new_document("resnet20")
    window.hub.select("body[1]")
    window.lessons._fill()
    enabled = {a.text(): a.isEnabled() for a in window.lessons.menu.actions()}
    assert enabled["Plain vs residual (gradient norms)"] and not enabled["Naive vs reduced Inception"]
    lesson = window.lessons.run("residual")
    compare = window.pages_extra.compare
    assert [n.label for n in compare.networks] == ["ResNet-20 (plain)", "ResNet-20"]
    qtbot.waitUntil(lambda: bool(window.lessons.panel.norms), timeout=60_000)
    norms = window.lessons.panel.norms
    assert len(norms["ResNet-20 (plain)"]) == 20 and len(norms["ResNet-20"]) == 22  # two projections more
    assert "formula" not in window.lessons.panel.text.text() and "measured" in window.lessons.panel.text.text()
    assert lesson.predicted == lesson.measured
    window.workers.wait()
    qtbot.wait(300)
    path = artifacts / "lesson_plain_vs_residual.png"
    assert window.grab().save(str(path))
    _drawn(path)


def test_lesson_separable_from_a_conv(qtbot, tmp_path) -> None:
    window = _window(qtbot, tmp_path)
    window.new_document("lenet5")
    window.hub.select("body[2]")
    lesson = window.lessons.run("separable")
    assert lesson.predicted == 1 / 16 + 1 / 25 and abs(lesson.measured - lesson.predicted) < 1e-12
    assert "1/N + 1/k²" in window.lessons.panel.text.text()
    assert len(window.pages_extra.compare.networks) == 2
