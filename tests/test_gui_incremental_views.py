"""The designer's views re-lay only what an edit changed (the diagram takes unchanged blocks' glyphs where they
were, run sketches are remembered): after a session of edits, undos and a failing edit, the diagram shows
what a new diagram drawing the same evaluation from nothing shows."""

from __future__ import annotations

import random
from typing import Any

from benchmarks.gui_redraw import network
from gui import edits
from gui.diagram import DiagramView
from tests.test_gui_designer import make_window
from tests.test_incremental_analysis import editable


def drawn(view: DiagramView) -> list[tuple[Any, ...]]:
    """Every glyph on the scene: where it is and what it paints; and the wires with their shapes."""
    glyphs = sorted((g.path, g.pos().x(), g.pos().y(), g.sketch.width, g.sketch.height, g.selected,
                     [(op[0], *(x for x in op[1:] if isinstance(x, (str, float, int)))) for op in g.sketch.ops])
                    for g in view._cache.values())
    wires = [(line.y1(), line.y2(), text) for line, text in view.wires.edges]
    return [glyphs, wires, view.scene().sceneRect().getRect()]


def test_the_diagram_after_a_session_of_edits_equals_one_drawn_from_nothing(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.open_spec(network("nested"))
    hub = window.hub
    targets = [t for t in editable(window.document.spec.body, "body") if t[0].startswith(("body[4", "body[5"))]
    rng = random.Random(7)
    failed = 0
    for step in range(30):
        if step % 6 == 5:
            window.act_undo.trigger()
        else:
            path, values = rng.choice(targets)
            name = rng.choice(sorted(values))
            hub.select(path)
            if hub.apply(edits.set_field, f"{path}.{name}", rng.choice(values[name])) is not None:
                continue  # a cross-field rule refused the value
        ev = hub.evaluation
        failed += ev.stale
        fresh = DiagramView(hub)
        fresh.show_evaluation(ev)
        assert drawn(window.design.diagram) == drawn(fresh), f"step {step}"
        fresh.deleteLater()
    assert failed  # a shape failure was drawn too (the blocks after it unreached)
