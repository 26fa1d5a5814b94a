"""The "in one paragraph" summary of a comparison, generated from its numbers: which network is cheapest,
by how much (MACs, parameters, measured latency), and at what accuracy cost."""

from __future__ import annotations

from analysis.formats import count
from analysis.report_model import Comparison, Entry


def _times(a: float, b: float) -> str:
    """How many times ``b`` is ``a``, in words ("3.2x")."""
    return f"{b / a:,.1f}x" if a else "∞x"


def _acc(e: Entry) -> str:
    s = e.accuracy
    if s is None:
        return ""
    spread = f" ± {100 * s.std:.2f}" if s.n > 1 else ""
    return f"{100 * s.mean:.2f}{spread} % ({s.n} run{'s' if s.n > 1 else ''})"


def summary(c: Comparison) -> str:
    es = c.entries
    if len(es) == 1:
        e = es[0]
        return (f"{e.name} has {e.report.totals.params:,} parameters and needs {count(e.report.totals.macs)} MACs "
                f"per image; its receptive field reaches {e.report.receptive_field.size[0]:g} px.")
    cheap = min(es, key=lambda e: e.report.totals.macs)
    dear = max(es, key=lambda e: e.report.totals.macs)
    small = min(es, key=lambda e: e.report.totals.params)
    out = [f"{cheap.name} is the cheapest of the {len(es)} networks at {count(cheap.report.totals.macs)} MACs per "
           f"image, {_times(cheap.report.totals.macs, dear.report.totals.macs)} fewer than {dear.name} "
           f"({count(dear.report.totals.macs)})."]
    if small is cheap:
        out.append(f"It is also the smallest, with {small.report.totals.params:,} parameters.")
    else:
        out.append(f"The smallest is {small.name} with {small.report.totals.params:,} parameters "
                   f"({_times(small.report.totals.params, cheap.report.totals.params)} fewer than {cheap.name}).")
    timed = [(e, t.median_ms) for e in es if (t := e.latency()) is not None]
    if len(timed) > 1:
        (fast, fast_ms), (slow, slow_ms) = min(timed, key=lambda p: p[1]), max(timed, key=lambda p: p[1])
        out.append(f"Measured on this machine's CPU at batch 1, {fast.name} takes {fast_ms:.2f} ms "
                   f"per forward pass, {_times(fast_ms, slow_ms)} faster than "
                   f"{slow.name} ({slow_ms:.2f} ms)"
                   + ("; MACs and latency rank the networks differently." if fast is not cheap else "."))
    rf = max(es, key=lambda e: e.report.receptive_field.size[0])
    out.append(f"{rf.name} has the largest receptive field ({rf.report.receptive_field.size[0]:g} px).")
    means = {id(e): a.mean for e in es if (a := e.accuracy) is not None}  # by entry: names may repeat
    trained = [e for e in es if id(e) in means]
    if len(trained) > 1:
        best = max(trained, key=lambda e: means[id(e)])
        cheapest = min(trained, key=lambda e: e.report.totals.macs)
        if best is cheapest:
            out.append(f"The cheapest trained network, {best.name}, is also the most accurate: {_acc(best)}.")
        else:
            gap = 100 * (means[id(best)] - means[id(cheapest)])
            out.append(f"{best.name} reaches {_acc(best)}; {cheapest.name} reaches {_acc(cheapest)}, {gap:.2f} "
                       f"points less for {_times(cheapest.report.totals.macs, best.report.totals.macs)} fewer MACs.")
    elif trained:
        out.append(f"Only {trained[0].name} has training runs: {_acc(trained[0])}.")
    else:
        out.append("None of them has a training run yet, so accuracy is not compared.")
    return " ".join(out)
