"""The Search page: declare the search space on the current network, run an Optuna study on it, and watch
the trials arrive — table, optimisation history, Pareto front, learning curves — then open any trial in
the designer.

A study runs as its own ``convsmith search`` process (``study_process``) and lives in its storage; this
page only reads the storage, in the background, about once a second. So closing the window leaves the
study running, and reopening the window (or this page) shows it again, still running.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QItemSelectionModel, QSignalBlocker, Qt, QTimer
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from analysis import Report, analyze
from analysis.compare import TOTALS
from arch.errors import ConvSmithError
from arch.search_space import parse_space
from arch.spec import loads
from gui.jobs import Runner
from gui.page_layout import sidebar_page
from gui.search_form import SearchForm
from gui.search_space_panel import SpacePanel
from gui.study_explore import StudyExplore
from gui.study_model import TrialsModel, TrialsProxy
from gui.study_plots import StudyPlots
from gui.study_process import Coordinator, StudyEntry, find_studies, launch
from gui.widgets import TextPane
from search.config import SearchConfig
from search.records import State, StudyView, TrialRecord, view
from search.sampling import describe
from search.storage import create_or_resume, load

if TYPE_CHECKING:
    from gui.main_window import MainWindow

FAST_MS, SLOW_MS = 1000, 5000  # polls while a study runs, and while it is idle (another process may resume it)


def counted(records: list[TrialRecord]) -> int:
    """Trials that count toward a study's target, as the coordinator counts them: an interrupted first attempt
    is replaced by its retry, and a waiting retry counts once it runs."""
    return sum(1 for r in records if r.state != State.WAITING and r.counts)


class Shown:
    """The study on display and the storage handle the poller keeps between polls (a journal reads only
    what was appended since)."""

    def __init__(self, name: str, storage: str | None, root: Path, coordinator: Coordinator | None) -> None:
        self.name, self.storage, self.root, self.coordinator = name, storage, root, coordinator
        self.study: Any = None
        self.view: StudyView | None = None

    def poll(self) -> StudyView:
        """Runs on the poller's thread (one poll at a time)."""
        if self.study is None:
            self.study = load(self.name, self.storage, self.root)
        return view(self.study)


class SearchTab(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.shown: Shown | None = None
        self._head = ""  # the selected trial's description, above its analysis
        self.launching: str | None = None  # the study whose storage is being opened before its process starts
        self.poller = Runner("study", self)
        self.launcher = Runner("launch", self)
        self.analysing = Runner("trial-analysis", self)

        self.space = SpacePanel(window.hub)
        self.form = SearchForm()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("run a study of the current network's search space (it resumes a study of that "
                                     "name with the same settings)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop the study: running trials are recorded as interrupted and retried on resume")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("continue the shown study up to 'trials' trials, with the settings it was "
                                      "started with")
        self.status = TextPane(lines=3)
        self.studies = QComboBox()
        self.studies.setMinimumContentsLength(24)
        self.studies.setToolTip("studies in the study folder (a running one is marked)")
        self.rescan = QToolButton()
        self.rescan.setText("↻")
        self.rescan.setToolTip("look for studies in the folder again")
        self.model = TrialsModel()
        self.proxy = TrialsProxy(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("double-click a trial to open its network in the designer")
        self.details = QTextBrowser()
        self.details.setMinimumWidth(300)
        self.open_button = QPushButton("Open in designer")
        self.compare_button = QPushButton("Add to comparison")
        self.plots = StudyPlots()
        self.explore = StudyExplore()  # optuna-dashboard's views, beside the live plots
        self._layout()

        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.resume())
        self.rescan.clicked.connect(self.scan)
        self.form.root.editingFinished.connect(self.scan)
        self.form.use_training_data.connect(self._training_data)
        self.studies.activated.connect(self._study_picked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._trial_selected())
        self.table.doubleClicked.connect(lambda _i: self.open_trial())
        self.open_button.clicked.connect(lambda: self.open_trial())
        self.compare_button.clicked.connect(self._compare)
        self.plots.trial_clicked.connect(self.select_trial)
        self.explore.trial_clicked.connect(self.select_trial)
        window.design.inspector.field_menu.connect(self.space.field_menu)
        self._buttons()
        self.scan(show=True)

    def _layout(self) -> None:
        side = QWidget()
        v = QVBoxLayout(side)
        buttons = QHBoxLayout()  # the study's controls and state first: always in sight
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        v.addLayout(buttons)
        v.addWidget(self.status)
        box = QGroupBox("Search space (saved in the spec)")
        QVBoxLayout(box).addWidget(self.space)
        v.addWidget(box)
        v.addWidget(self.form)
        v.addStretch(1)
        head = QHBoxLayout()
        head.addWidget(QLabel("Study"))
        head.addWidget(self.studies, 1)
        head.addWidget(self.rescan)
        head.addStretch(1)
        head.addWidget(self.open_button)
        head.addWidget(self.compare_button)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.table)
        top.addWidget(self.details)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        top.setSizes([800, 330])
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addLayout(head)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        views = QTabWidget()
        views.addTab(self.plots, "Progress")
        views.addTab(self.explore, "Explore")
        views.setTabToolTip(1, "optuna-dashboard's views: importances, parallel coordinates, slice, contour, "
                               "intermediate values")
        split.addWidget(views)
        split.setSizes([420, 420])
        rv.addWidget(split, 1)
        sidebar_page(self, side, right, (400, 480))

    # ------------------------------------------------------------------ state
    def running(self) -> bool:
        """A study of this page is starting or its coordinator runs."""
        if self.launching is not None:
            return True
        return self.shown is not None and self.shown.coordinator is not None and self.shown.coordinator.alive()

    def _buttons(self) -> None:
        running = self.running()
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running and self.launching is None)
        self.resume_button.setEnabled(not running and self.shown is not None and self.shown.view is not None)
        chosen = self.current_record() is not None
        self.open_button.setEnabled(chosen)
        self.compare_button.setEnabled(chosen)

    def _error(self, title: str, text: str) -> None:
        self.status.setText(f"{title}: {text}")
        self.window_.dialogs.error(self, title, text)

    def _training_data(self) -> None:
        source = self.window_.pages_extra.training.chooser.source()
        if source:
            self.form.data.setText(source)

    # ------------------------------------------------------------------ studies
    def scan(self, show: bool = False) -> list[StudyEntry]:
        """List the studies of the folder; with ``show``, display a running one (else the newest)."""
        entries = find_studies(self.form.folder())
        current = self.shown.name if self.shown else None
        with QSignalBlocker(self.studies):
            self.studies.clear()
            for e in entries:
                running = e.coordinator is not None and e.coordinator.alive()
                self.studies.addItem(e.name + ("  (running)" if running else ""), e)
            self.studies.setCurrentIndex(self._index_of(current))
        if show and entries and self.shown is None:
            running = [e for e in entries if e.coordinator is not None and e.coordinator.alive()]
            newest = max(entries, key=lambda e: e.folder.stat().st_mtime)
            pick = running[0] if running else newest
            self.show_study(pick.name, pick.storage, self.form.folder(), pick.coordinator)
        return entries

    def _index_of(self, name: str | None) -> int:
        return next((i for i in range(self.studies.count()) if self.studies.itemData(i).name == name), -1)

    def _study_picked(self, index: int) -> None:
        entry: StudyEntry = self.studies.itemData(index)
        if entry is not None and (self.shown is None or entry.name != self.shown.name):
            self.show_study(entry.name, entry.storage, self.form.folder(), entry.coordinator)

    def show_study(self, name: str, storage: str | None, root: Path, coordinator: Coordinator | None = None) -> None:
        """Display a study (read from its storage) and keep it current."""
        self.shown = Shown(name, storage, root, coordinator)
        self.model.set_records(name, [])
        self.plots.clear()
        self.details.clear()
        self.form.study.setText(name)
        index = self._index_of(name)
        if index >= 0:
            self.studies.setCurrentIndex(index)
        self.status.setText(f"Study {name}: reading its storage …")
        self.poll()
        self.timer.start(FAST_MS)
        self._buttons()

    def poll(self) -> None:
        shown = self.shown
        if shown is None or self.poller.busy:
            return
        self.poller.submit(lambda _job: shown.poll(), lambda v: self._polled(shown, v),
                           lambda e: self._poll_failed(shown, e))

    def _polled(self, shown: Shown, study: StudyView) -> None:
        if shown is not self.shown:
            return
        shown.view = study
        shape = (self.model.rowCount() > 0, self.model.columnCount())
        self.model.set_records(study.name, study.records)
        if (self.model.rowCount() > 0, self.model.columnCount()) != shape:  # first rows, or a new sampled value
            self.table.resizeColumnsToContents()
        else:
            self.table.resizeColumnToContents(1)  # states change length (running -> interrupted)
        self.plots.set_records(study.records, study.objectives)
        self.explore.set_view(study)
        if self.current_record() is not None:
            self._show_details(self.current_record(), refresh=False)
        self._after_poll(study)

    def _poll_failed(self, shown: Shown, error: Exception) -> None:
        if shown is not self.shown:
            return
        if shown.coordinator is not None and shown.coordinator.alive():
            self.status.setText(f"Study {shown.name}: starting …")  # its storage does not exist yet
        else:
            self.status.setText(f"Study {shown.name}: {error}")
        self._after_poll(None)

    def _after_poll(self, study: StudyView | None) -> None:
        shown = self.shown
        assert shown is not None
        coordinator = shown.coordinator
        active = coordinator is not None and coordinator.alive()
        if coordinator is not None and coordinator.process is not None and not active:
            self._coordinator_ended(coordinator)
        live = study is not None and any(r.state in (State.RUNNING, State.WAITING) for r in study.records)
        self.timer.setInterval(FAST_MS if active or live else SLOW_MS)
        if study is not None:
            best = study.best()
            if not best:
                text = "no result yet"
            elif study.multi:
                text = f"front of {len(best)}"
            else:
                text = f"best {100 * best[0].values['accuracy']:.2f} % (trial {best[0].number})"
            self.status.setText(f"Study {study.name} ({', '.join(study.objectives)}): {len(study.records)} trials, "
                                f"{text}; " + (f"running (process {coordinator.pid})" if active else "not running"))
        self._buttons()

    def _coordinator_ended(self, coordinator: Coordinator) -> None:
        code = coordinator.process.returncode if coordinator.process is not None else None
        coordinator.process = None  # reaped; from now on only the storage speaks for the study
        self.scan()
        if code not in (0, 130, None):
            self._error(f"Study {coordinator.study} stopped with an error",
                        coordinator.log_tail() or f"exit code {code}")

    # ------------------------------------------------------------------ start / stop / resume
    def start(self) -> bool:
        """Run a study of the current document's search space; False (said why) when it cannot start."""
        self.window_.commit_pending_edit()
        doc = self.window_.document
        if doc is None:
            self._error("Cannot search", "no network is open")
            return False
        try:
            space = parse_space(doc.spec)
        except ConvSmithError as e:
            self._error("Cannot search", str(e))
            return False
        if not space:
            self._error("Cannot search", f"{doc.spec.name} declares nothing to search: right-click a field in the "
                        "inspector and choose “Make searchable…”")
            return False
        config, problems = self.form.config(doc.spec)
        return self._launch(config, problems)

    def resume(self) -> bool:
        """Continue the shown study with the settings it was started with (spec, data, objectives, limits,
        epochs, training options); trials, timeout, sampler, pruner, workers and device come from the form."""
        shown = self.shown
        if shown is None or shown.view is None:
            return False
        identity = shown.view.identity
        self.form.show_study(shown.name, shown.root, shown.storage, identity)
        try:
            spec = loads(identity["spec"], f"study {shown.name}")
        except (ConvSmithError, KeyError) as e:
            self._error("Cannot resume", f"study {shown.name} does not say what it searches: {e}")
            return False
        config, problems = self.form.config(spec)
        config = replace(config, train=dict(identity.get("train", {})))
        held = counted(shown.view.records)
        if held >= config.trials:
            self._error("Nothing to resume", f"study {shown.name} already holds {held} trials; raise 'trials' above "
                        "that to add more")
            return False
        return self._launch(config, problems)

    def _launch(self, config: SearchConfig, problems: list[str]) -> bool:
        self.form.show_problems(problems)
        if problems:
            self._error("Cannot search", "\n".join(problems))
            return False
        for entry in find_studies(config.root):
            if entry.name == config.study and entry.coordinator is not None and entry.coordinator.alive():
                self._error("Already running", f"study {config.study} is running (process {entry.coordinator.pid})")
                return False
        self.launching = config.study
        self.status.setText(f"Study {config.study}: opening its storage …")
        self._buttons()
        self.launcher.submit(lambda _job: create_or_resume(config), lambda _study: self._launched(config),
                             self._launch_failed)
        return True

    def _launch_failed(self, error: Exception) -> None:
        """The storage refused the study (another spec or settings under that name, a bad URL): said at once."""
        self.launching = None
        self._buttons()
        self._error("Cannot start the study", str(error))

    def _launched(self, config: SearchConfig) -> None:
        """The study exists in its storage with these settings: start its coordinator process."""
        self.launching = None
        try:
            coordinator = launch(config)
        except (ConvSmithError, OSError) as e:
            self._error("Cannot start the study", str(e))
            self._buttons()
            return
        self.scan()
        self.show_study(config.study, config.storage, Path(config.root), coordinator)
        self.status.setText(f"Study {config.study}: started (process {coordinator.pid}); log in "
                            f"{coordinator.folder / 'gui-search.log'}")

    def stop(self) -> None:
        if self.shown is not None and self.shown.coordinator is not None:
            self.shown.coordinator.stop()
            self.status.setText(f"Stopping study {self.shown.name}: running trials are recorded as interrupted …")
            self.stop_button.setEnabled(False)

    def shutdown(self) -> None:
        """The window closes: stop reading; a running study goes on in its own process."""
        self.timer.stop()

    # ------------------------------------------------------------------ trials
    def current_record(self) -> TrialRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.record(self.proxy.mapToSource(rows[0]).row())

    def select_trial(self, number: int) -> None:
        row = self.model.row_of(number)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                           | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def _trial_selected(self) -> None:
        rec = self.current_record()
        self.plots.highlight(rec.number if rec else None)
        self.explore.highlight(rec.number if rec else None)
        if rec is not None:
            self._show_details(rec, refresh=True)
        self._buttons()

    def _show_details(self, rec: TrialRecord, refresh: bool) -> None:
        """What the trial is (state, sampled values, figures) and, when it has an architecture, its analysis."""
        acc = "-" if rec.accuracy is None else f"{100 * rec.accuracy:.2f} %"
        lines = [f"<h3>Trial {rec.number}: {rec.state}</h3>", f"<p>validation accuracy {acc}"
                 + (f"; {rec.duration:.1f} s" if rec.duration is not None else "") + "</p>"]
        if rec.reason:
            lines.append(f"<p><i>{rec.reason}</i></p>")
        if rec.params:
            lines.append("<p><b>sampled</b><br>" + "<br>".join(f"<tt>{k}</tt> = {v}" for k, v in rec.params.items())
                         + "</p>")
        self._head = "".join(lines)
        if refresh:
            self.details.setHtml(self._head)
            if rec.spec_text:
                self.analysing.submit(lambda _job: analyze(rec.spec()), lambda r, n=rec.number: self._analysed(n, r),
                                      lambda e: self.details.append(f"analysis: {e}"))

    def _analysed(self, number: int, report: Report) -> None:
        rec = self.current_record()
        if rec is None or rec.number != number:
            return
        rows = "".join(f"<tr><td>{label}</td><td align='right'>{get(report)}</td></tr>" for label, get in TOTALS)
        self.details.setHtml(self._head + f"<p><b>analysis of {report.name}</b></p><table>{rows}</table>")

    def open_trial(self, number: int | None = None) -> bool:
        """Open a trial's network in the designer as a new document (it shows its analysis there)."""
        rec = self.current_record() if number is None else next(
            (r for r in self.model.records if r.number == number), None)
        if rec is None:
            return False
        try:
            spec = rec.spec()
        except ConvSmithError as e:
            self._error("Cannot open this trial", str(e))
            return False
        self.window_.open_spec(spec)
        self.window_.pages.setCurrentWidget(self.window_.design)
        self.window_.statusBar().showMessage(f"Opened trial {rec.number} of {self.shown.name if self.shown else ''}: "
                                             f"{describe(rec.params, 120)}", 10000)
        return True

    def _compare(self) -> None:
        rec = self.current_record()
        if rec is not None and self.shown is not None:
            self.window_.pages_extra.compare.add_trial(self.shown.name, rec)
            self.window_.pages_extra.show(self.window_.pages_extra.compare)
