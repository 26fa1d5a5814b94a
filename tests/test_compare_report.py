"""Comparative reports (issue 19): every number of the JSON equals the analysis or the run records it came
from; runs and study trials are found by what a spec builds, not by its name; the structural diff of specs
that differ in one field names exactly that field; latency is measured with a spread that a repeat's
median falls in; the HTML, Markdown and CLI paths; a CUDA request without a GPU is one clear line."""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path

import pytest
import torch

from analysis import analyze, report_render
from analysis.report_charts import rf_points, top_layers
from analysis.report_diff import diff
from arch.builder import build
from arch.spec import parse_spec, save
from main import main
from search import SearchConfig, run_search
from search.compare_report import gather, spec_source
from training import TrainConfig, load_data, train
from training import report_speed as speed
from training.report_runs import matching_runs, run_folders
from training.runs import load_history
from training.visualize import effective_rf

DATA = "synthetic:shapes?n=120&size=16&channels=1&classes=4"
SPEC = {"format": "convsmith/1", "name": "tiny", "input": [1, 16, 16], "num_classes": 4, "body": [
    {"block": "conv", "out": 6, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
    {"block": "conv", "out": 8, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
    {"block": "classifier"}]}
WIDE = {**SPEC, "name": "wide", "body": [{"block": "conv", "out": 12, "kernel": 3}, *SPEC["body"][1:]]}


def _train(spec: dict, out: Path, seed: int) -> None:
    data = load_data(DATA, "cpu")
    for _ in train(parse_spec(spec), data, TrainConfig(epochs=2, batch_size=40, threads=2, seed=seed), run_dir=out,
                   cancel=threading.Event()):
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """runs/: two seeds of SPEC, SPEC under another name (same network), WIDE; studies/: one trial of SPEC."""
    root = tmp_path_factory.mktemp("world")
    _train(SPEC, root / "runs" / "tiny-0", 0)
    _train(SPEC, root / "runs" / "tiny-1", 1)
    _train({**SPEC, "name": "renamed", "description": "the same network"}, root / "runs" / "renamed", 2)
    _train(WIDE, root / "runs" / "wide", 0)
    space = {**SPEC, "search": {"body[0].out": {"choices": [6]}}}  # the only candidate builds SPEC
    run_search(SearchConfig(parse_spec(space), DATA, "s", trials=1, epochs=1, root=root / "studies",
                            pruner="none", train={"batch_size": 32}))
    return root


@pytest.fixture(scope="module")
def report(world: Path) -> tuple[dict, object]:
    sources = [spec_source(parse_spec(SPEC), "tiny.json"), spec_source(parse_spec(WIDE), "wide.json")]
    c = gather(sources, world / "runs", world / "studies", latency=True, train_batch=8, object_size=(6, 6))
    return json.loads(report_render.to_json(c)), c


@pytest.mark.slow
def test_runs_and_trials_found_by_what_is_built(report, world: Path) -> None:
    data, _ = report
    tiny, wide = data["networks"]
    where = sorted(Path(r["where"]).name if r["kind"] == "run" else r["where"] for r in tiny["runs"])
    assert where == ["renamed", "s #0", "tiny-0", "tiny-1"]  # the trial's own folder is not counted twice
    assert [Path(r["where"]).name for r in wide["runs"]] == ["wide"]
    ten = parse_spec({**SPEC, "num_classes": 10})  # the classes follow the data: a run of SPEC still matches
    assert [Path(p).name for p, _ in matching_runs(ten, run_folders([world / "runs"]))] == [
        "renamed", "tiny-0", "tiny-1"]


@pytest.mark.slow
def test_every_json_number_equals_the_analysis_and_the_run_records(report, world: Path) -> None:
    data, c = report
    for net, spec in zip(data["networks"], (SPEC, WIDE)):
        r = analyze(parse_spec(spec))
        assert net["totals"] == r.to_json()["totals"] and net["receptive_field"] == r.to_json()["receptive_field"]
        # per-stage sums recomputed from the block records; together they are the totals
        stages = net["stages"]
        assert sum(s["params"] for s in stages) == r.totals.params == sum(p.numel() for p in build(
            parse_spec(spec)).parameters())
        assert sum(s["macs"] for s in stages) == r.totals.macs
        for s in stages:
            blocks = [r.block(p) for p in s["blocks"]]
            assert s["activation_bytes"] == sum(b.activation_bytes for b in blocks)
            assert {"x".join(map(str, b.out_shape[1:])) if len(b.out_shape) == 3 else "flat" for b in blocks} \
                == {s["resolution"]}
        assert [x["macs"] for x in net["top_layers"]] == sorted((x.macs for x in r.layers), reverse=True)[:10]
        assert [(x["name"], x["params"]) for x in net["top_layers"]] == [(x.name, x.params) for x in top_layers(r)]
        assert [p["size"] for p in net["rf_curve"]] == [list(map(float, r.block(p["block"]).rf_size))
                                                       for p in net["rf_curve"]]
        assert [p["cum_macs"] for p in net["rf_curve"]] == [p.cum_macs for p in rf_points(r)]
        assert net["rf_curve"][-1]["cum_macs"] <= r.totals.macs
        # runs: every figure is the run folder's own record
        for run in net["runs"]:
            if run["kind"] != "run":
                continue
            h = load_history(run["where"])
            assert run["final_acc"] == h.run["final_val_acc"] and run["best_acc"] == h.run["best_val_acc"]
            assert run["seed"] == h.config["train"]["seed"] and run["epochs"] == h.run["epochs"]
            assert run["curve"] == [[float(e["epoch"]), e["val_acc"]] for e in h.epochs]
        finals = [run["final_acc"] for run in net["runs"] if run["finished"]]
        assert net["accuracy"]["mean"] == pytest.approx(statistics.fmean(finals), abs=0)
        assert net["accuracy"]["n"] == len(finals)
        if len(finals) > 1:
            assert net["accuracy"]["std"] == statistics.stdev(finals)
    trial = next(r for r in data["networks"][0]["runs"] if r["kind"] == "trial")
    from search import open_study

    rec = open_study("s", None, world / "studies").record(0)
    assert trial["final_acc"] == rec.values["accuracy"] and trial["status"] == "complete"
    # measured figures: the memory prediction is the analysis at that batch; throughput is batch / median
    for net, spec in zip(data["networks"], (SPEC, WIDE)):
        for m in net["memory"]:
            assert m["predicted_bytes"] == analyze(parse_spec(spec), batch=m["batch"]).totals \
                .peak_activation_bytes_inference
            assert m["ratio"] == m["measured_bytes"] / m["predicted_bytes"]
        assert {(t["engine"], t["batch"]) for t in net["timings"]} == {
            ("PyTorch", 1), ("PyTorch", 8), ("ONNX Runtime", 1), ("ONNX Runtime", 8)}
        for t in net["timings"]:
            assert t["throughput"] == t["batch"] * 1000 / t["median_ms"]
            assert t["q1_ms"] <= t["median_ms"] <= t["q3_ms"] and t["min_ms"] <= t["q1_ms"]
    # the effective RF is the training package's measurement of the same layer, within the theoretical field
    e = c.entries[0]
    assert e.erf is not None and e.filters_png
    assert e.erf.support[0] <= e.erf.theoretical[0] and e.erf.mass90[0] <= e.erf.support[0]
    assert data["pareto"]["macs"]  # two trained networks: a front exists
    tiny, wide = analyze(parse_spec(SPEC)), analyze(parse_spec(WIDE))
    d = data["diffs"][0]
    assert d["d_params"] == wide.totals.params - tiny.totals.params
    assert d["d_macs"] == wide.totals.macs - tiny.totals.macs
    assert d["blocks"][0]["d_params"] == wide.block("body[0]").params - tiny.block("body[0]").params
    assert data["networks"][0]["effective_rf"]["support"] == list(e.erf.support)


@pytest.mark.slow
def test_effective_rf_matches_a_direct_measurement(report) -> None:
    _, c = report
    e = c.entries[0]
    from training.report_runs import _checkpoint_model, _erf_images

    run = Path(e.erf.run)
    direct = effective_rf(_checkpoint_model(run), e.erf.layer, _erf_images(run, (1, 16, 16))[0])
    top, bottom, left, right = direct.support
    assert e.erf.layer == e.report.layers[e.erf.depth - 1].name
    assert e.erf.support == (bottom - top + 1, right - left + 1)
    assert e.erf.theoretical == e.report.layer(e.erf.layer).rf_size


def test_diff_of_one_field_names_exactly_that_field() -> None:
    a = parse_spec(SPEC)
    kernel5 = {**SPEC, "body": [*SPEC["body"][:2], {"block": "conv", "out": 8, "kernel": 5}, *SPEC["body"][3:]]}
    for path, changed in (("body[2].kernel", kernel5),
                          ("width_mult", {**SPEC, "width_mult": 0.5}),
                          ("body[0].out", WIDE)):
        b = parse_spec(changed)
        ra, rb = analyze(a), analyze(b)
        d = diff(a, b, ra, rb)
        assert d.field_paths == [path]
        assert d.d_params == rb.totals.params - ra.totals.params and d.d_macs == rb.totals.macs - ra.totals.macs
    # writing a default explicitly changes nothing; inserting a block is one addition, not a cascade
    same = parse_spec({**SPEC, "body": [{**SPEC["body"][0], "stride": 1}, *SPEC["body"][1:]]})
    assert diff(a, same, analyze(a), analyze(same)).blocks == ()
    more = parse_spec({**SPEC, "body": [*SPEC["body"][:3], {"block": "conv", "out": 8, "kernel": 1},
                                        *SPEC["body"][3:]]})
    d = diff(a, more, analyze(a), analyze(more))
    assert [(b.kind, b.after) for b in d.blocks] == [("added", "body[3]")]
    assert d.blocks[0].d_params == analyze(more).block("body[3]").params


class _Sleepy(torch.nn.Module):
    """A forward that takes at least 2 ms: a lower bound any honest timer must report."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.002)
        return x


def test_latency_statistics_are_consistent_and_bound_the_forward_time() -> None:
    """Not a speed target (those live in benchmarks/): the timing's order statistics agree, and a forward that
    sleeps 2 ms is never reported faster than that (a repeat's spread is machine noise, not asserted)."""
    model = build(parse_spec(SPEC)).eval()
    cpu = torch.device("cpu")
    first = speed.torch_timing(model, (1, 16, 16), 4, cpu, blocks=9, block_s=0.01, max_s=120)
    assert first.samples == 9 and first.min_ms <= first.q1_ms <= first.median_ms <= first.q3_ms <= first.max_ms
    slow = speed.torch_timing(_Sleepy(), (1, 16, 16), 4, cpu, blocks=5, block_s=0.01, max_s=60)
    assert slow.samples == 5 and slow.min_ms >= 2.0


def test_memory_peak_counts_live_activations() -> None:
    """A chain of convs without in-place ops: the peak is the input plus two consecutive outputs."""
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Conv2d(4, 8, 3, padding=1),
                                torch.nn.Conv2d(8, 2, 3, padding=1))
    m = speed.memory_peak(model, (1, 8, 8), 2, torch.device("cpu"), 1)
    assert m.measured_bytes == 4 * 2 * 64 * (1 + 4 + 8)


@pytest.mark.slow
def test_html_and_markdown_show_the_sections(report, artifacts: Path) -> None:
    _, c = report
    page = report_render.html(c)
    (artifacts / "compare_report.html").write_text(page)
    for title in ("In one paragraph", "Where the cost is", "How the receptive field grows", "What differs",
                  "How fast it really runs", "What it reached", "Diagrams and first-layer filters"):
        assert title in page
    for external in ("<script", "href=", "<link", "@import", "url("):
        assert external not in page
    assert f'<td class="n">{c.entries[0].report.totals.macs:,}</td>' in page  # right-aligned, separators
    assert "Accuracy vs MACs" in page and "Receptive field and jump vs depth" in page
    assert "object size (6 px)" in page and "input size (16 px)" in page
    md = report_render.markdown(c)
    assert "|---|---:|---:|" in md and "## What differs" in md and "body[0].out" in md


@pytest.mark.slow
def test_cli_compare(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save(parse_spec(SPEC), a)
    save(parse_spec(WIDE), b)
    out = tmp_path / "cmp.json"
    assert main(["compare", str(a), str(b), "--runs", str(world / "runs"), "--studies", str(world / "studies"),
                 "-o", str(out)]) == 0
    assert "5 runs/trials found" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert [len(n["runs"]) for n in data["networks"]] == [4, 1] and data["diffs"][0]["fields"] == ["body[0].out"]
    assert main(["compare", str(a), "--latency", "--device", "cuda", "-o", str(tmp_path / "x.html")]) == (
        0 if torch.cuda.is_available() else 1)
    if not torch.cuda.is_available():
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no CUDA GPU" in err[0] and not (tmp_path / "x.html").exists()
    assert main(["compare", str(a), "template:nope", "-o", str(out)]) == 1
    assert json.loads(out.read_text()) == data  # the good file stays


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_measurements() -> None:
    model = build(parse_spec(SPEC))
    cuda = torch.device("cuda")
    t = speed.torch_timing(model, (1, 16, 16), 4, cuda, blocks=5, block_s=0.01)
    m = speed.memory_peak(model, (1, 16, 16), 4, cuda, analyze(parse_spec(SPEC), batch=4).totals
                          .peak_activation_bytes_inference)
    assert t.device == "cuda" and t.median_ms > 0 and m.measured_bytes > 0


@pytest.mark.slow
def test_study_report_reuses_the_building_blocks(world: Path) -> None:
    from search import open_study
    from search.report import html, markdown

    view = open_study("s", None, world / "studies")
    page = html(view)
    assert "MACs per stage, aligned by resolution" in page and "Receptive field and jump vs depth" in page
    assert "![Receptive field and jump vs depth](data:image/svg+xml;base64," in markdown(view)
