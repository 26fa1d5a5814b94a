"""optuna-dashboard parity of the study report: importances equal Optuna's, parallel coordinates, slices,
contour and intermediate values drawn from the same records, the selected trial highlighted everywhere,
duplicates shown as such. A made-up study (no training): fast and exact."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from search import explore, explore_svg
from search.attrs import CURVE, DUPLICATE_OF, FIGURES, INFEASIBLE
from search.records import view
from search.report import write_report

DISTS = {"body[0].out": CategoricalDistribution([4, 8, 16]), "train.lr": FloatDistribution(1e-3, 1e-1, log=True),
         "body[1].kernel": IntDistribution(3, 7, step=2)}


def _accuracy(p: dict) -> float:
    return round(0.9 + 0.004 * [4, 8, 16].index(p["body[0].out"]) - 0.01 * abs(math.log10(p["train.lr"]) + 2)
                 + 0.001 * p["body[1].kernel"], 4)


def _study(with_extras: bool) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
    study.set_user_attr("convsmith", {"objectives": ["accuracy"]})
    for i in range(16):
        p = {"body[0].out": [4, 8, 16][i % 3], "train.lr": 10 ** (-3 + 2 * ((i * 7) % 16) / 15),
             "body[1].kernel": [3, 5, 7][(i // 3) % 3]}
        acc = _accuracy(p)
        curve = [{"epoch": e, "val_acc": acc - 0.02 * (3 - e)} for e in (1, 2, 3)]
        study.add_trial(optuna.create_trial(params=p, distributions=DISTS, value=acc,
                                            user_attrs={CURVE: curve, FIGURES: {"macs": 1000 * (i + 1)}},
                                            intermediate_values={e["epoch"]: e["val_acc"] for e in curve}))
    if with_extras:
        first = study.trials[0]
        study.add_trial(optuna.create_trial(params=first.params, distributions=DISTS, value=first.value,
                                            user_attrs={DUPLICATE_OF: 0, CURVE: first.user_attrs[CURVE]}))
        study.add_trial(optuna.create_trial(params=study.trials[1].params, distributions=DISTS, value=0.0,
                                            user_attrs={INFEASIBLE: "macs > max 1"}))
        p = study.trials[2].params | {"train.lr": 0.09}
        study.add_trial(optuna.create_trial(params=p, distributions=DISTS, state=optuna.trial.TrialState.PRUNED,
                                            user_attrs={CURVE: [{"epoch": 1, "val_acc": 0.5}]},
                                            intermediate_values={1: 0.5}))
    return study


def test_importances_equal_optunas_for_the_same_study():
    study = _study(with_extras=False)
    ours = explore.importances(view(study))
    theirs = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    assert ours == pytest.approx(dict(theirs)) and list(ours) == list(theirs)
    assert set(ours) == set(DISTS) and sum(ours.values()) == pytest.approx(1.0)


def test_importances_leave_out_duplicates_infeasible_and_pruned_trials():
    study = _study(with_extras=True)
    kept = explore.importance_trials(view(study))
    assert [t.number for t in kept] == list(range(16))
    assert explore.importances(view(study)) == pytest.approx(explore.importances(view(_study(with_extras=False))))


def test_axes_follow_the_distributions_and_positions_are_exact():
    v = view(_study(with_extras=True))
    axes = {a.name: a for a in explore.axes(v)}
    assert axes["body[0].out"].categories == [4, 8, 16] and axes["body[0].out"].position(8) == 0.5
    lr = axes["train.lr"]
    assert lr.log and lr.position(1e-3) == 0 and lr.position(1e-1) == 1 and lr.position(1e-2) == pytest.approx(0.5)
    k = axes["body[1].kernel"]
    assert k.categories is None and k.position(5) == 0.5
    assert [r.state for r in explore.points(v.records)].count("duplicate") == 1
    assert all(r.state != "infeasible" for r in explore.points(v.records))


def test_contour_interpolates_between_the_trials_and_meets_them():
    v = view(_study(with_extras=False))
    axes = {a.name: a for a in explore.axes(v)}
    c = explore.contour(v, axes["body[0].out"], axes["body[1].kernel"], n=5)
    accs = [r.accuracy for r in explore.points(v.records)]
    flat = [x for row in c.grid for x in row]
    assert min(accs) - 1e-12 <= min(flat) and max(flat) <= max(accs) + 1e-12
    # grid point (0, 0) is body[0].out=4, kernel=3: the mean of the trials there (all at distance 0 share it)
    at = [r.accuracy for px, py, r in c.dots if px == 0 and py == 0]
    assert at and c.grid[0][0] == pytest.approx(at[0])


def test_intermediate_values_are_what_each_trial_reported():
    v = view(_study(with_extras=True))
    series = dict((r.number, s) for r, s in explore.intermediate(v.records))
    for t in v.study.trials:
        if t.number in series:
            assert dict(series[t.number]) == pytest.approx(t.intermediate_values)
    assert 16 not in series  # the duplicate reused trial 0's curve; it is not drawn twice


def test_report_has_every_dashboard_view_with_the_best_trial_highlighted(tmp_path, artifacts):
    v = view(_study(with_extras=True))
    best = explore.best_number(v)
    assert best == max(range(16), key=lambda n: v.study.trials[n].value)
    write_report(v, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    for title in ("Parallel coordinates", "Slices", "Contour of the two most important parameters",
                  "Intermediate values", "Parameter importances"):
        assert f"<h2>{title}</h2>" in html, title
    charts = dict(explore_svg.charts(v, explore.importances(v)))
    for name, chart in charts.items():
        assert f"trial {best} (" in chart and explore_svg.SELECTED in chart, name  # highlighted everywhere
    assert "duplicate of #0" in charts["Slices"] and 'fill="none" stroke=' in charts["Slices"]
    assert "stroke-dasharray" in charts["Parallel coordinates"]
    assert "duplicate" in html and "same candidate as trial 0" in html
    (artifacts / "study_dashboard.html").write_text(html)
