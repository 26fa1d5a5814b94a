"""The main window: pages in a central tab widget (the first is "Design"), documents in a tab bar on
the design page, menus, the status bar with the current totals, files, exports, autosave and layout.

Other pages (training, search, compare) join with ``add_page``; "open this spec as a new document" is
``open_spec``. The design page is itself a QMainWindow so its docks belong to it, not to every page.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QByteArray, QSettings, QSignalBlocker, QStandardPaths, Qt, QTimer
from PyQt6.QtGui import QAction, QCloseEvent, QFont, QIcon, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QStyle,
    QTabBar,
    QTabWidget,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from analysis.formats import at_least, count, hw, nbytes
from analysis.report_export import HTML_REPORT
from arch.errors import ConvSmithError
from arch.export import FORMATS
from arch.registry import CATEGORIES, families
from arch.spec import Spec, load, save
from arch.templates import load_template, names
from gui.analysis_table import AnalysisPanel
from gui.derivation_card import install as install_derivation_card
from gui.diagram import DiagramView
from gui.dialogs import Dialogs
from gui.document import Document, Workspace
from gui.editor import BlockActions, NetworkEditor
from gui.evaluation import Evaluation
from gui.inspector import Inspector
from gui.jobs import BusyIndicator, Job, Runner
from gui.lessons import install as install_lessons
from gui.lints import LintsPanel
from gui.model_analysis import install as install_model_analysis
from gui.model_import import import_document, is_model_source
from gui.model_import import install as install_model_import
from gui.pages import add_pages
from gui.palette import Palette
from gui.places import KEYS as PLACE_KEYS
from gui.places import absolute_source, remembered
from gui.playground import install as install_playground
from gui.recovery import RecoveryStore
from gui.rf_view import ReceptiveFieldView
from gui.session import Hub, Session
from gui.undo_keys import UndoKeys
from gui.wheel_guard import install as install_wheel_guard

ORG, APP = "ConvSmith", "ConvSmith"
MAX_RECENT = 10
MIN_WINDOW = (1024, 700)  # Reset layout gives a usable window from this size up
SIDE_MIN, BOTTOM_MIN = 200, 110  # docks never collapse below these (nor is a collapsed layout saved)
EXPORTS = {f.name: f for f in (*FORMATS.values(), HTML_REPORT)}  # the Export menu, in this order


def blank_spec() -> Spec:
    return Spec(name="Untitled", input=(3, 32, 32), num_classes=10)


def file_stem(name: str) -> str:
    """A file name for a network's name: 'ResNet-18' -> 'resnet-18'."""
    return re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_") or "network"


class DesignPage(QMainWindow):
    """The designer: diagram in the centre, palette and editor left, inspector right, tables below."""

    def __init__(self, hub: Hub, actions: BlockActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("design")
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.documents = QTabBar()
        self.documents.setTabsClosable(True)
        self.documents.setDocumentMode(True)
        self.documents.setExpanding(False)
        self.diagram = DiagramView(hub)
        central = QWidget()
        v = QVBoxLayout(central)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addWidget(self.documents)
        v.addWidget(self.diagram, 1)
        self.setCentralWidget(central)

        self.palette = Palette()
        self.editor = NetworkEditor(hub, actions)
        self.inspector = Inspector(hub)
        self.analysis = AnalysisPanel(hub)
        self.rf = ReceptiveFieldView(hub)
        self.lints = LintsPanel(hub)
        self.history = QUndoView(hub.undo_group)
        self.history.setEmptyLabel("<opened>")
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks = {
            "palette": self._dock("Blocks", self.palette, left),
            "editor": self._dock("Network", self.editor, left),
            "inspector": self._dock("Inspector", self.inspector, right),
            "rf": self._dock("Receptive field", self.rf, right),
            "history": self._dock("History", self.history, right),
            "analysis": self._dock("Analysis", self.analysis, bottom),
            "lints": self._dock("Lints", self.lints, bottom),
        }
        d = self.docks
        self.splitDockWidget(d["palette"], d["editor"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(d["inspector"], d["rf"])
        self.tabifyDockWidget(d["rf"], d["history"])
        # One tabbed group only: Qt 6.11 leaves a stray, visible tab bar when a second group is made.
        self.splitDockWidget(d["analysis"], d["lints"], Qt.Orientation.Horizontal)
        d["inspector"].raise_()
        for key in ("palette", "editor", "inspector", "rf", "history"):
            d[key].setMinimumWidth(SIDE_MIN)
        for key in ("analysis", "lints"):
            d[key].setMinimumHeight(BOTTOM_MIN)
        self.sized = False  # default dock sizes are set once the page has its real size
        self.palette.family_requested.connect(self.editor.insert_family)
        self.analysis.layer_chosen.connect(self.rf.set_layer)
        d["rf"].visibilityChanged.connect(self.rf.set_on_screen)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self.sized:
            self.sized = True
            self.apply_default_sizes()

    def apply_default_sizes(self) -> None:
        """Dock sizes in proportion to the page as it is now (a 1024x700 window as well as a large one)."""
        d, w, h = self.docks, self.width(), self.height()
        side = int(min(380, max(SIDE_MIN, 0.23 * w)))
        self.resizeDocks([d["palette"], d["inspector"]], [side, side], Qt.Orientation.Horizontal)
        self.resizeDocks([d["palette"], d["editor"]], [int(0.36 * h), int(0.64 * h)], Qt.Orientation.Vertical)
        self.resizeDocks([d["inspector"]], [int(0.62 * h)], Qt.Orientation.Vertical)  # docks beside it: the rest
        self.resizeDocks([d["analysis"]], [int(min(270, max(BOTTOM_MIN + 40, 0.3 * h)))], Qt.Orientation.Vertical)
        self.resizeDocks([d["analysis"], d["lints"]], [int(0.66 * w), int(0.34 * w)], Qt.Orientation.Horizontal)

    def usable(self) -> bool:
        """Every dock shown is at least its minimum size and the diagram has room: a layout worth keeping."""
        for dock in self.docks.values():
            if dock.isVisible() and not dock.isFloating() and (dock.width() < min(dock.minimumWidth(), SIDE_MIN)
                                                                or dock.height() < BOTTOM_MIN // 2):
                return False
        inspector = self.docks["inspector"]
        if inspector.isVisible() and inspector.height() < 150:  # its form clipped to a few rows
            return False
        return self.diagram.width() >= 100 and self.diagram.height() >= 100

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, recovery_dir: str | Path | None = None,
                 dialogs: Dialogs | None = None, autosave_ms: int = 30_000) -> None:
        super().__init__()
        app = QApplication.instance()
        install_wheel_guard(app)  # a wheel over an unfocused field scrolls its form
        app.installEventFilter(UndoKeys(self))  # Ctrl+Z is the document's undo, whatever has focus
        self.settings = settings if settings is not None else QSettings(ORG, APP)
        if recovery_dir is None:
            base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            recovery_dir = Path(base or Path.home() / ".convsmith") / "recovery"
        self.recovery = RecoveryStore(recovery_dir)
        self.dialogs = dialogs or Dialogs()
        self.workspace = Workspace()
        self.sessions: dict[Document, Session] = {}
        self.keys: dict[Document, str] = {}  # recovery-file key per document
        self.tab_docs: list[Document] = []
        self.hub = Hub(self)
        self.block_actions = BlockActions(self.hub, self)
        self.setWindowTitle("ConvSmith")
        self.resize(1600, 1000)

        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.setTabBarAutoHide(True)
        self.setCentralWidget(self.pages)
        self.design = DesignPage(self.hub, self.block_actions)
        self.derivation = install_derivation_card(self.design, self.hub)  # gui/derivation_card.py
        self.add_page(self.design, "Design", self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogListView))
        self._status_bar()
        self.workers = Runner("tasks", self, newest_only=False, indicator=self.busy)
        self.pages_extra = add_pages(self)  # Training, Search, Compare (gui.pages)
        self.playground = install_playground(self)  # gui/playground.py
        self._actions()
        self._menus()
        self.lessons = install_lessons(self)  # gui/lessons.py: the Lessons menu
        self._default_layout: tuple[QByteArray, QByteArray] | None = None  # recorded after the first show
        self._restore_places()
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

        self.workspace.subscribe(self._workspace_event)
        self.design.documents.currentChanged.connect(self._tab_changed)
        self.design.documents.tabCloseRequested.connect(lambda i: self.close_document(self.tab_docs[i]))
        self.hub.evaluated.connect(self._show_totals)
        self.hub.document_changed.connect(self._update_titles)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # ================================================================ pages
    def add_page(self, widget: QWidget, title: str, icon: QIcon | None = None) -> int:
        """Add a top-level page (training, search, compare...) beside "Design"."""
        return self.pages.addTab(widget, icon or QIcon(), title)

    # ============================================================ documents
    @property
    def document(self) -> Document | None:
        return self.workspace.current

    def open_spec(self, spec: Spec, path: str | Path | None = None, dirty: bool = False) -> Document:
        """Open a spec as a new document and show it (the search tab calls this for a trial)."""
        return self.workspace.open(spec, path, dirty)

    def new_document(self, template: str | None = None) -> Document:
        spec = load_template(template) if template else blank_spec()
        return self.open_spec(spec)

    def open_file(self, path: str | Path | None = None) -> Document | None:
        """Open a spec file; a bad file shows the error and changes nothing."""
        if path is None:
            path = self.dialogs.open_path(self, "Open spec")
            if not path:
                return None
        if is_model_source(str(path)):  # a torch model (FILE.py[:Class], torchvision:NAME) opens as a design
            import_document(self, str(path))  # once imported, off the UI thread
            return None
        existing = self.workspace.find(path)
        if existing is not None:
            self.workspace.set_current(existing)
            return existing
        try:
            spec = load(path)
        except ConvSmithError as e:
            self.dialogs.error(self, f"Cannot open {Path(path).name}", str(e))
            return None
        self._add_recent(path)
        return self.open_spec(spec, path)

    def commit_pending_edit(self) -> None:
        """A value typed in the inspector but not yet confirmed (no Enter, focus still there) is committed
        first, so Ctrl+S, an export or closing never leaves it behind."""
        focus = QApplication.focusWidget()
        if focus is not None and self.design.inspector.isAncestorOf(focus):
            focus.clearFocus()  # spin boxes and line edits commit on focus out
            focus.setFocus()

    def save(self, doc: Document | None = None) -> bool:
        self.commit_pending_edit()
        doc = doc or self.document
        if doc is None:
            return False
        if doc.path is None:
            return self.save_as(doc)
        return self._write(doc, doc.path)

    def save_as(self, doc: Document | None = None, path: str | Path | None = None) -> bool:
        self.commit_pending_edit()
        doc = doc or self.document
        if doc is None:
            return False
        if path is None:
            suggested = str(doc.path or Path.cwd() / f"{file_stem(doc.spec.name)}.json")
            path = self.dialogs.save_path(self, "Save spec as", suggested)
            if not path:
                return False
        return self._write(doc, Path(path))

    def _write(self, doc: Document, path: Path) -> bool:
        try:
            save(doc.spec, path)
        except (ConvSmithError, OSError) as e:
            self.dialogs.error(self, f"Cannot save {path.name}", str(e))
            return False
        doc.mark_saved(path)
        self.recovery.discard(self.keys[doc])
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def close_document(self, doc: Document) -> bool:
        """Close one document, asking about unsaved changes; False when the person cancels."""
        if not self.workspace.allows("close", doc):
            return False
        if doc.dirty:
            answer = self.dialogs.confirm_discard(self, doc.title)
            if answer == "cancel" or (answer == "save" and not self.save(doc)):
                return False
        self.recovery.discard(self.keys.pop(doc))
        session = self.sessions.pop(doc)
        if self.hub.session is session:
            self.hub.set_session(None)
        session.close()
        self.hub.undo_group.removeStack(session.undo)
        self.workspace.close(doc)
        session.deleteLater()
        if not self.workspace.documents:
            self.new_document()
        return True

    def _workspace_event(self, event: str, doc: Document) -> None:
        bar = self.design.documents
        if event == "opened":
            session = Session(doc, self)
            self.sessions[doc] = session
            self.keys[doc] = self.recovery.new_key()
            self.hub.undo_group.addStack(session.undo)
            session.document_changed.connect(self._update_titles)
            self.tab_docs.append(doc)
            with QSignalBlocker(bar):
                bar.addTab(doc.title)
        elif event == "closed":
            index = self.tab_docs.index(doc)
            self.tab_docs.remove(doc)
            with QSignalBlocker(bar):
                bar.removeTab(index)
        elif event == "current":
            with QSignalBlocker(bar):
                bar.setCurrentIndex(self.tab_docs.index(doc))
            self.hub.set_session(self.sessions[doc])
        self._update_titles()

    def _tab_changed(self, index: int) -> None:
        if 0 <= index < len(self.tab_docs):
            self.workspace.set_current(self.tab_docs[index])
            current = self.workspace.current
            if current is not None and current is not self.tab_docs[index]:  # refused (a run asked first)
                bar = self.design.documents
                with QSignalBlocker(bar):
                    bar.setCurrentIndex(self.tab_docs.index(current))

    def _update_titles(self) -> None:
        bar = self.design.documents
        for i, doc in enumerate(self.tab_docs):  # only on a change: a new tab text re-lays out the window
            text = doc.title + (" *" if doc.dirty else "")
            if bar.tabText(i) != text:
                bar.setTabText(i, text)
            tip = str(doc.path) if doc.path else f"{doc.spec.name} (not saved yet)"
            if bar.tabToolTip(i) != tip:
                bar.setTabToolTip(i, tip)
        doc = self.document
        if doc is not None:
            title = f"{doc.title}[*] — ConvSmith"
            if self.windowTitle() != title:
                self.setWindowTitle(title)
            if self.isWindowModified() != doc.dirty:
                self.setWindowModified(doc.dirty)

    # ============================================================ recovery
    def autosave(self) -> None:
        """Write every document with unsaved changes to its recovery file; drop the others'."""
        for doc, key in self.keys.items():
            if doc.dirty:
                try:
                    self.recovery.write(key, doc.spec, doc.path)
                except OSError as e:
                    self.statusBar().showMessage(f"Autosave failed: {e}", 10000)
            else:
                self.recovery.discard(key)

    def offer_recovery(self) -> int:
        """After a crash: offer the unsaved work left behind; returns how many documents came back."""
        found = self.recovery.orphans()
        if not found:
            return 0
        restored = 0
        names = [f"{e.name}" + (f" ({e.source})" if e.source else "")
                 + time.strftime(", autosaved %Y-%m-%d %H:%M", time.localtime(e.saved_at)) for e in found]
        if self.dialogs.ask_restore(self, names):
            from arch.spec import loads

            for entry in found:
                try:
                    spec = loads(entry.text, str(entry.file))
                except ConvSmithError as e:
                    self.dialogs.error(self, "Cannot restore", str(e))
                    continue
                self.open_spec(spec, entry.source, dirty=True)
                restored += 1
        for entry in found:
            self.recovery.remove(entry)
        self.autosave()  # the restored documents are protected again at once
        return restored

    # ============================================================== exports
    def export(self, fmt: str, path: str | Path | None = None) -> bool:
        """Export the current spec in a format of ``EXPORTS`` (arch.export's and the HTML analysis report), in a
        worker.

        Returns False when nothing was started (no document, or the person cancelled the file dialog).
        """
        self.commit_pending_edit()
        doc = self.document
        if doc is None:
            return False
        form = EXPORTS[fmt]
        if path is None:
            path = self.dialogs.save_path(self, "Export",
                                          str(Path.cwd() / f"{file_stem(doc.spec.name)}{form.suffixes[0]}"),
                                          form.filter)
            if not path:
                return False
        spec, target = doc.spec, Path(path)

        def work(_job: Job) -> int:
            return form.write(spec, target)

        self.workers.submit(work, lambda n: self.statusBar().showMessage(f"Exported {target} ({nbytes(n)})", 8000),
                            lambda e: self.dialogs.error(self, f"Cannot export {target.name}", str(e)),
                            title=f"Exporting {target.name}")
        return True

    def export_diagram(self, kind: str, path: str | Path | None = None) -> bool:
        doc = self.document
        if doc is None:
            return False
        if path is None:
            filt = "PNG images (*.png)" if kind == "png" else "SVG drawings (*.svg)"
            path = self.dialogs.save_path(self, "Export diagram",
                                          str(Path.cwd() / f"{file_stem(doc.spec.name)}.{kind}"), filt)
            if not path:
                return False
        try:
            (self.design.diagram.export_png if kind == "png" else self.design.diagram.export_svg)(path)
        except OSError as e:
            self.dialogs.error(self, "Cannot export the diagram", str(e))
            return False
        self.statusBar().showMessage(f"Exported {path}", 8000)
        return True

    # ======================================================== status bar
    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.busy = BusyIndicator()
        bar.addWidget(self.busy)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.stats = {key: QLabel() for key in ("params", "macs", "rf", "lints")}
        for label in self.stats.values():
            label.setFont(mono)
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    def _show_totals(self, ev: Evaluation) -> None:
        rep = ev.shown
        if rep is None:
            for label in self.stats.values():
                label.setText("—")
            return
        t, rf = rep.totals, rep.receptive_field
        self.stats["params"].setText(f"{count(t.params)} params")
        self.stats["params"].setToolTip(f"{t.params:,} parameters")
        self.stats["macs"].setText(f"{at_least(rep)}{count(t.macs)} MACs")  # "≥": uncounted ops
        self.stats["macs"].setToolTip(f"{t.macs:,} multiply-accumulates, {t.flops:,} FLOPs")
        self.stats["rf"].setText(f"RF {at_least(rep)}{hw(rf.size)}")
        self.stats["rf"].setToolTip(f"receptive field at {rf.layer}: {hw(rf.size)} px, "
                                    f"jump {hw(rf.jump)} px")
        shown = self.design.lints.visible(rep.lints)  # dismissed ones left out
        warnings = sum(lint.severity == "warning" for lint in shown)
        self.stats["lints"].setText(f"{warnings} ⚠" if warnings else "no warnings")
        self.stats["lints"].setToolTip(f"{warnings} warnings, {len(shown) - warnings} infos"
                                       + (f", {len(rep.lints) - len(shown)} dismissed" if len(shown) < len(rep.lints)
                                          else ""))
        style = "color: #9aa0a6;" if ev.stale else ""
        for label in self.stats.values():
            if label.styleSheet() != style:  # re-applying a style sheet re-polishes the widget
                label.setStyleSheet(style)
        if ev.stale:
            self.statusBar().showMessage("Shapes fail: " + "; ".join(map(str, ev.problems)))
        elif self.statusBar().currentMessage().startswith("Shapes fail"):
            self.statusBar().clearMessage()

    # ============================================================= actions
    def _action(self, text: str, slot: Any, keys: Any = None, icon: QStyle.StandardPixmap | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if keys is not None:
            action.setShortcuts([QKeySequence(k) for k in (keys if isinstance(keys, list) else [keys])])
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if tip:
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _actions(self) -> None:
        sp, key = QStyle.StandardPixmap, QKeySequence.StandardKey
        self.act_new = self._action("&New network", self.new_document, key.New, sp.SP_FileIcon)
        self.act_open = self._action("&Open…", self.open_file, key.Open, sp.SP_DialogOpenButton)
        self.act_save = self._action("&Save", self.save, key.Save, sp.SP_DialogSaveButton)
        self.act_save_as = self._action("Save &As…", self.save_as, "Ctrl+Shift+S")
        self.act_close = self._action("&Close document", lambda: self.document and self.close_document(self.document),
                                      key.Close)
        self.act_quit = self._action("&Quit", self.close, key.Quit)
        self.act_undo = self.hub.undo_group.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([QKeySequence(key.Undo)])
        self.act_undo.setIcon(self.style().standardIcon(sp.SP_ArrowBack))
        self.act_redo = self.hub.undo_group.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_redo.setIcon(self.style().standardIcon(sp.SP_ArrowForward))
        diagram = self.design.diagram
        self.act_fit = self._action("&Fit diagram", diagram.fit_all, "Ctrl+0", sp.SP_TitleBarMaxButton)
        self.act_fit_width = self._action("Fit diagram &width", diagram.fit_width, "Ctrl+9")
        self.act_zoom_in = self._action("Zoom &in", lambda: diagram.zoom(1.25), key.ZoomIn)
        self.act_zoom_out = self._action("Zoom &out", lambda: diagram.zoom(0.8), key.ZoomOut)
        for action in (self.act_undo, self.act_redo, *self.block_actions.all):
            self.addAction(action)

    def _menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.act_new)
        templates = file.addMenu("New from &template")
        for name in names():
            templates.addAction(self._action(load_template(name).name, lambda n=name: self.new_document(n),
                                             tip=f"template:{name}"))
        file.addAction(self.act_open)
        install_model_import(self, file)  # File > Open torch model (gui/model_import.py)
        install_model_analysis(self, file)  # File > Analyse model (read-only): ONNX, modules (gui/model_analysis.py)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        file.addAction(self.act_save)
        file.addAction(self.act_save_as)
        export = file.addMenu("&Export")
        for form in EXPORTS.values():
            export.addAction(self._action(form.label, lambda f=form.name: self.export(f)))
        export.addSeparator()
        export.addAction(self._action("Diagram as PNG…", lambda: self.export_diagram("png")))
        export.addAction(self._action("Diagram as SVG…", lambda: self.export_diagram("svg")))
        file.addSeparator()
        file.addAction(self.act_close)
        file.addAction(self.act_quit)

        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        for action in self.block_actions.all:
            edit.addAction(action)
        insert = bar.addMenu("&Insert")
        for category in CATEGORIES:
            sub: QMenu = insert.addMenu(category.capitalize())
            for fam in families():
                if fam.category == category:
                    sub.addAction(self._action(fam.title, lambda n=fam.name: self.design.editor.insert_family(n),
                                               tip=fam.doc))

        view = bar.addMenu("&View")
        for action in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_fit_width):
            view.addAction(action)
        view.addSeparator()
        for dock in self.design.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self._action("Reset layout", self.reset_layout))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&About ConvSmith", lambda: self.dialogs.info(
            self, "About ConvSmith", "ConvSmith: design, analyse, train and search convolutional networks.\n"
            "A network is described once, as data (a spec); everything else is derived from it.")))

        tools = QToolBar("Main")
        tools.setObjectName("toolbar-main")
        tools.setMovable(False)
        for action in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                       *self.block_actions.all[:4], None, self.act_fit):
            if action is None:
                tools.addSeparator()
            else:
                tools.addAction(action)
        self.addToolBar(tools)

    # =========================================================== recent
    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [str(v) for v in (value if isinstance(value, list) else [value]) if v]

    def _add_recent(self, path: str | Path) -> None:
        text = str(Path(path).resolve())
        files = [text] + [f for f in self.recent_files() if f != text]
        self.settings.setValue("recent_files", files[:MAX_RECENT])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            self.recent_menu.addAction(self._action(f, lambda p=f: self.open_file(p)))
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # =========================================================== layout
    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._default_layout is None:
            self._first_shown()  # the design page (a child) has had its show event and default sizes

    def _first_shown(self) -> None:
        """The default layout is what the first show lays out (real sizes); the saved one is restored over it
        only when it is usable (a collapsed layout never comes back on the next launch)."""
        if self._default_layout is not None:
            return
        self.design.apply_default_sizes()
        self.design.docks["inspector"].raise_()  # the inspector in front of the docks tabbed with it
        self._default_layout = (self.saveState(), self.design.saveState())
        window, design = self.settings.value("window/state"), self.settings.value("design/state")
        if isinstance(window, QByteArray) and isinstance(design, QByteArray):
            self.restoreState(window)
            self.design.restoreState(design)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        if not self.design.usable():  # repaired first: the docks the person shows or hides are still kept
            self.design.apply_default_sizes()
            self.design.layout().activate()
        if self.design.usable():
            self.settings.setValue("window/state", self.saveState())
            self.settings.setValue("design/state", self.design.saveState())
        else:  # never persist a collapsed layout: the next launch starts from the default
            self.settings.remove("window/state")
            self.settings.remove("design/state")
        self.settings.sync()

    def reset_layout(self) -> None:
        """The default docks, sized for the window as it is now (at least 1024x700)."""
        if not (self.isMaximized() or self.isFullScreen()):
            self.resize(max(self.width(), MIN_WINDOW[0]), max(self.height(), MIN_WINDOW[1]))
        if self._default_layout is not None:
            self.restoreState(self._default_layout[0])
            self.design.restoreState(self._default_layout[1])
        for dock in self.design.docks.values():
            dock.setFloating(False)
            dock.show()
        self.design.docks["inspector"].raise_()
        self.design.apply_default_sizes()

    # =========================================================== places
    def _restore_places(self) -> None:
        """The runs folder, the studies folder and the last dataset of the last session (absolute paths)."""
        saved = remembered(self.settings)
        pages = self.pages_extra
        if PLACE_KEYS[0] in saved:
            pages.training.runs.set_folder(saved[PLACE_KEYS[0]])
        if PLACE_KEYS[1] in saved:
            pages.search.form.root.setText(saved[PLACE_KEYS[1]])
        if PLACE_KEYS[2] in saved:
            pages.training.chooser.set_source(saved[PLACE_KEYS[2]])

    def save_places(self) -> None:
        pages = self.pages_extra
        self.settings.setValue(PLACE_KEYS[0], str(pages.training.runs.folder()))
        self.settings.setValue(PLACE_KEYS[1], str(pages.search.form.folder()))
        source = pages.training.chooser.source()
        if source is not None:
            self.settings.setValue(PLACE_KEYS[2], absolute_source(source))

    # ============================================================ close
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.commit_pending_edit()
        if not self.pages_extra.training.may_close():  # a run going: background, stop or cancel
            event.ignore()
            return
        for doc in list(self.workspace.documents):
            if doc.dirty:
                self.workspace.set_current(doc)
                answer = self.dialogs.confirm_discard(self, doc.title)
                if answer == "cancel" or (answer == "save" and not self.save(doc)):
                    event.ignore()
                    return
        self.save_layout()
        self.save_places()
        self.hub.set_session(None)  # widgets losing focus while the window goes must not edit any more
        self.autosave_timer.stop()
        self.pages_extra.shutdown()
        self.workers.wait()
        for key in self.keys.values():
            self.recovery.discard(key)
        event.accept()
