"""The one off-UI-thread mechanism (gui.jobs): progress reaches the UI thread, a job cancels where its
function looks, an error arrives with its traceback (one line for the person's own errors), a newest-only
runner drops the stale request, and the busy indicator shows what runs."""

from __future__ import annotations

import threading

from PyQt6.QtCore import QThread

from arch.errors import ConvSmithError
from gui.jobs import BusyIndicator, Job, Progress, Runner, describe


def test_progress_items_and_result_arrive_on_the_ui_thread(qtbot) -> None:
    ui = QThread.currentThread()
    seen: list[tuple[str, object, bool]] = []

    def work(job: Job) -> int:
        for i in range(5):
            job.progress(i + 1, 5, f"step {i + 1}")
            job.send(i)
        return 42

    job = Job("count", work)
    job.progressed.connect(lambda p: seen.append(("progress", p, QThread.currentThread() is ui)))
    job.item.connect(lambda v: seen.append(("item", v, QThread.currentThread() is ui)))
    job.done.connect(lambda v: seen.append(("done", v, QThread.currentThread() is ui)))
    with qtbot.waitSignal(job.finished, timeout=10_000):
        job.start()
    assert all(on_ui for _, _, on_ui in seen)
    assert [v for kind, v, _ in seen if kind == "item"] == [0, 1, 2, 3, 4]  # every item, in order
    reports = [p for kind, p, _ in seen if kind == "progress"]
    assert reports and reports[-1] == Progress(5, 5, "step 5") and reports[-1].fraction == 1.0  # newest, not lost
    assert seen[-1][:2] == ("done", 42) and job.result == 42 and job.error is None


def test_cancel_stops_the_function_where_it_looks(qtbot) -> None:
    started, steps = threading.Event(), []

    def work(job: Job) -> str:
        started.set()
        while not job.cancelled():
            steps.append(1)
            job.cancel.wait(0.01)
        return "stopped"

    job = Job("endless", work)
    job.start()
    assert started.wait(10)
    with qtbot.waitSignal(job.done, timeout=10_000) as done:
        job.stop()
    assert done.args == ["stopped"] and job.join(5) and not job.running()


def test_an_error_is_captured_with_its_traceback(qtbot) -> None:
    def broken(_job: Job) -> None:
        raise ZeroDivisionError("no")

    def refused(_job: Job) -> None:
        raise ConvSmithError("body[2].kernel: must be >= 1")

    job = Job("broken", broken)
    with qtbot.waitSignals([job.failed, job.finished], timeout=10_000) as got:
        job.start()
    error = got.all_signals_and_args[0].args[0]
    assert isinstance(error, ZeroDivisionError) and job.error is error
    text = describe(error)
    assert text.startswith("ZeroDivisionError: no") and "Traceback" in text and "in broken" in text

    job = Job("refused", refused)
    with qtbot.waitSignal(job.failed, timeout=10_000) as failed:
        job.start()
    assert describe(failed.args[0]) == "body[2].kernel: must be >= 1"  # the person's to fix: one line


def test_newest_only_runner_replaces_the_waiting_request(qtbot) -> None:
    runner = Runner("latest")
    gate = threading.Event()
    results: list[str] = []
    first = runner.submit(lambda _job: gate.wait(10) and "first", results.append)
    assert first is not None and runner.busy
    assert runner.submit(lambda _job: "second", results.append) is None  # waits behind the running one
    assert runner.submit(lambda _job: "third", results.append) is None   # replaces "second"
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert results == ["first", "third"]


def test_parallel_runner_shows_progress_and_reports_errors(qtbot) -> None:
    indicator = BusyIndicator()
    runner = Runner("tasks", newest_only=False, indicator=indicator)
    gate = threading.Event()
    errors: list[Exception] = []

    def slow(job: Job) -> None:
        job.progress(1, 4, "one of four")
        gate.wait(10)

    def fails(_job: Job) -> None:
        gate.wait(10)
        raise ValueError("bad")

    runner.submit(slow, title="slow")
    runner.submit(fails, on_error=errors.append, title="fails")
    assert len(runner.running) == 2 and not indicator.isHidden()
    qtbot.waitUntil(lambda: "one of four" in indicator.label.text(), timeout=10_000)
    assert "slow" in indicator.label.text() and "fails" in indicator.label.text()
    gate.set()
    assert runner.wait(10)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert indicator.isHidden() and [str(e) for e in errors] == ["bad"]


def test_one_job_reports_its_fraction_on_the_indicator(qtbot) -> None:
    indicator = BusyIndicator()
    runner = Runner("tasks", newest_only=False, indicator=indicator)
    gate = threading.Event()

    def half(job: Job) -> None:
        job.progress(1, 2)
        gate.wait(10)

    runner.submit(half, title="half")
    qtbot.waitUntil(lambda: indicator.bar.maximum() == 1000 and indicator.bar.value() == 500, timeout=10_000)
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)


def test_stopping_a_runner_cancels_the_running_job_and_drops_the_waiting_one(qtbot) -> None:
    runner = Runner("latest")
    started, results = threading.Event(), []

    def endless(job: Job) -> str:
        started.set()
        job.cancel.wait(10)
        return "cancelled" if job.cancelled() else "timed out"

    runner.submit(endless, results.append)
    runner.submit(lambda _job: "never", results.append)
    assert started.wait(10)
    runner.stop()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert results == ["cancelled"]
