"""Text views of a study: the progress line printed per trial, the end summary and the trials table."""

from __future__ import annotations

from typing import Any

from analysis.formats import count, grid, nbytes
from search.records import State, StudyView, TrialRecord, pareto_front
from search.sampling import describe


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _figure(rec: TrialRecord, name: str) -> str:
    v = rec.figures.get(name)
    if v is None:
        return "-"
    if name == "latency":
        return f"{v:.2f} ms"
    return nbytes(v) if name == "memory" else count(v)


class Progress:
    """Prints one line per finished trial: number, state, accuracy, MACs, best so far, sampled values."""

    def __init__(self, objectives: list[str]) -> None:
        self.objectives = objectives
        self.records: dict[int, TrialRecord] = {}

    def best_text(self) -> str:
        done = list(self.records.values())
        if len(self.objectives) > 1:
            return f"front {len(pareto_front(done, self.objectives))}"
        complete = [r for r in done if r.state == State.COMPLETE]
        if not complete:
            return "best -"
        b = max(complete, key=lambda r: r.values["accuracy"])
        return f"best {pct(b.values['accuracy'])} (#{b.number})"

    def line(self, rec: TrialRecord) -> None:
        if rec.state == State.RUNNING:
            return
        self.records[rec.number] = rec
        seconds = f"{rec.duration:6.1f} s" if rec.duration is not None else "      - "
        extra = "".join(f"  {o} {_figure(rec, o)}" for o in self.objectives[1:] if o != "macs")
        why = f"  ({rec.reason})" if rec.reason and rec.state != State.COMPLETE else ""
        print(f"trial {rec.number:4d}  {rec.state:<11}  acc {pct(rec.accuracy):>8}  MACs {_figure(rec, 'macs'):>7}"
              f"{extra}  {seconds}  {self.best_text():<22}  {describe(rec.params)}{why}", flush=True)

    def summary(self, view: StudyView) -> str:
        states: dict[str, int] = {}
        for r in view.records:
            states[r.state] = states.get(r.state, 0) + 1
        head = f"study {view.name}: {len(view.records)} trials (" + ", ".join(f"{n} {s}" for s, n in states.items()) \
            + ")"
        best = view.best()
        if not best:
            return head + "; no trial completed yet"
        if view.multi:
            rows = [f"  #{r.number}: " + ", ".join(f"{o} {pct(r.values[o]) if o == 'accuracy' else _figure(r, o)}"
                                                 for o in view.objectives) for r in best]
            return head + f"\nPareto front ({len(best)} trials):\n" + "\n".join(rows)
        b = best[0]
        return (head + f"\nbest: trial {b.number}, {pct(b.values['accuracy'])} validation accuracy, "
                f"{_figure(b, 'params')} params, {_figure(b, 'macs')} MACs ({describe(b.params, 200)})")


def _row(r: TrialRecord) -> dict[str, Any]:
    return {"number": r.number, "state": r.state, "accuracy": r.accuracy, "values": r.values,
            "params": r.params, "figures": r.figures, "duration": r.duration, "train_seconds": r.train_seconds,
            "epochs": len(r.curve), "reason": r.reason, "retry_of": r.retry_of}


def table(view: StudyView, as_json: bool = False) -> Any:
    """Every trial: a text table, or plain JSON-ready rows."""
    if as_json:
        return {"study": view.name, "objectives": view.objectives, "trials": [_row(r) for r in view.records],
                "best": [r.number for r in view.best()]}
    head = ["#", "state", "accuracy", "params", "MACs", "epochs", "seconds", "sampled / reason"]
    rows = [[str(r.number), r.state, pct(r.accuracy), _figure(r, "params"), _figure(r, "macs"), str(len(r.curve)),
             "-" if r.duration is None else f"{r.duration:.1f}",
             describe(r.params, 70) + (f" ({r.reason})" if r.reason else "")] for r in view.records]
    best = view.best()
    tail = ("Pareto front: " if view.multi else "best: ") + (", ".join(f"#{r.number}" for r in best[:10]) or "-")
    return "\n".join([f"study {view.name} ({', '.join(view.objectives)})", *grid(head, rows, {0, 2, 3, 4, 5, 6}),
                      tail])
