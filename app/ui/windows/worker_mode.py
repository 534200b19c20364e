"""Worker mode's window: this computer renders for a Manager.

It shows what the `WorkerController` follows (the state, the current task with progress and time
left, its live log, the last frame this worker rendered, the Manager and how it was found, today's
history) and holds the sleep schedule editor shared with the dashboard. Its state is said in the
dashboard's words (`app.ui.state_words`); its Mode menu shows the desktop app's one `ModeModel`
and offers the dashboard, never this window. The tray icon carries the
same controls; where the desktop has no tray, the window shows them and says so once. Closing the
window with a tray hides it; Quit (Ctrl+Q, or closing it without a tray) goes to the desktop app's
Quit when it runs this window (`quit_handler`), else asks here what to do with a running task.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.common.durations import format_duration, say_duration
from app.common.idle import AwayRule, IdleSource, open_idle_source
from app.common.load import LoadHold, LoadSampler
from app.ui import autostart, tray_icons
from app.ui import tray_state as ts
from app.ui.aio import spawn
from app.ui.away import AwayWatcher, save_rule, saved_rule
from app.ui.dialogs.sleep_schedule import SleepScheduleEditor
from app.ui.load_hold import INTERVAL_MS, LoadWatcher, save_limits, saved_limits
from app.ui.mode import MODES, WORKER_WINDOW, ModeMenu, ModeModel
from app.ui.quitting import QUIT_SHORTCUT
from app.ui.state_words import headline
from app.ui.tray import (
    NOTIFY_KINDS,
    WorkerActions,
    WorkerTray,
    notification_enabled,
    set_notification,
    tray_available,
)
from app.ui.worker_controller import WorkerController

_log = logging.getLogger(__name__)

NO_TRAY_SAID = "worker/no_tray_said"
QUIT_FINISH, QUIT_NOW, QUIT_CANCEL = "finish", "now", "cancel"


def _controller_for(services, role) -> WorkerController:
    from app.common.discovery import parse_target
    from app.worker.config import ConfigError, WorkerConfig

    url = services.manager_url if services.manager_running else role.manager_url
    token = services.admin_token if services.manager_running else ""
    # A Manager found on the network is looked for there again when it is lost (not our own one).
    found = role.manager_found_by == "discovery" and not services.manager_running
    try:
        cfg = WorkerConfig.load(services.worker_config_path, manager_url=url or None)
        return WorkerController(url, cfg.worker_name, cfg.credentials_path,
                                rediscover=found or (cfg.rediscover_manager and not services.manager_running),
                                discovery_targets=[parse_target(t) for t in cfg.discovery_targets] or None,
                                lost_after_s=cfg.rediscover_after_s, admin_token=token)
    except ConfigError:
        return WorkerController(url, WorkerConfig().worker_name, rediscover=found, admin_token=token)


class WorkerModeWindow(QMainWindow):
    open_requested = Signal(str)  # app.ui.mode.DASHBOARD: Mode ▸ Open the dashboard
    wizard_requested = Signal()
    closed = Signal()

    def __init__(self, services, role, parent=None, controller: WorkerController | None = None,
                 has_tray: bool | None = None, idle_source: IdleSource | None = None,
                 load_interval_ms: int = INTERVAL_MS, modes: ModeModel | None = None):
        super().__init__(parent)
        if modes is None:  # a window of its own (tests, tools): it shows its role, and switches nothing
            modes = ModeModel(parent=self)
            modes.set_mode(role.role if role.role in MODES else "",
                           {m: "Only the desktop app switches modes." for m in MODES})
        self.modes = modes
        self._idle_source = idle_source
        self._load_interval_ms = load_interval_ms
        self.away: AwayWatcher | None = None
        self.load: LoadWatcher | None = None
        self.services = services
        self.role = role
        self.setWindowTitle("Tablao — Worker")
        self.controller = controller or _controller_for(services, role)
        self.has_tray = tray_available() if has_tray is None else has_tray
        self.worker_actions: WorkerActions = WorkerActions(self.controller, self)
        self.worker_actions.open_requested.connect(self.bring_up)
        self.worker_actions.schedule_requested.connect(self.bring_up)
        self.quit_handler: Callable[[], None] | None = None  # the desktop app's Quit, when the app runs this window
        self._closing_for_good = False
        self.worker_actions.quit_requested.connect(self._quit_asked)
        self._build()
        self._menus()
        self.tray = WorkerTray(self.controller, self.worker_actions, self) if self.has_tray else None
        if self.tray is not None:
            self.tray.show()
        c = self.controller
        c.state_changed.connect(self.show_state)
        c.connection_changed.connect(lambda *_: self._show_manager())
        c.task_changed.connect(self.show_task)
        c.log_appended.connect(self.log.appendPlainText)
        c.frame_changed.connect(self.show_frame)
        c.history_changed.connect(self.show_history)
        c.schedule_changed.connect(self.editor.set_schedule)
        c.action_failed.connect(lambda text: self.statusBar().showMessage(text, 15000))
        c.manager_moved.connect(self._manager_moved)
        if self.tray is None:
            c.notify.connect(lambda title, text: self.statusBar().showMessage(f"{title}: {text}", 15000))
        self.show_state(c.state)
        self.show_task(None)
        self.show_history(c.history.as_dict())
        self._show_manager()
        c.start()
        self._apply_away()
        self._apply_load()
        self.resize(760, 820)

    # --- building ----------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        head = QHBoxLayout()
        self.state_icon = QLabel()
        self.state_icon.setFixedSize(40, 40)
        self.state_text = QLabel()
        self.state_text.setObjectName("workerState")
        head.addWidget(self.state_icon)
        head.addWidget(self.state_text, 1)
        layout.addLayout(head)
        self.no_tray = QLabel("This desktop has no system tray, so the worker's controls are here in "
                              "this window. Closing the window stops the worker.")
        self.no_tray.setObjectName("noTrayNote")
        self.no_tray.setWordWrap(True)
        self.no_tray.setVisible(not self.has_tray)
        layout.addWidget(self.no_tray)
        layout.addLayout(self._controls())
        layout.addWidget(self._task_box(), 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self._about_box(), 1)
        bottom.addWidget(self._schedule_box(), 1)
        layout.addLayout(bottom)
        layout.addWidget(self._options_box())
        self.setCentralWidget(central)

    def _controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.buttons: dict[str, QToolButton] = {}
        for name in ("render_now", "stop", "finish", "snooze_hour", "snooze_tomorrow"):
            button = QToolButton()
            button.setDefaultAction(getattr(self.worker_actions, name))
            button.setObjectName(f"button_{name}")
            row.addWidget(button)
            self.buttons[name] = button
        self.buttons["stop"].defaultAction().setIconText("Stop rendering")
        row.addStretch(1)
        return row

    def _task_box(self) -> QGroupBox:
        box = QGroupBox("Current task")
        grid = QGridLayout(box)
        self.task_name = QLabel()
        self.task_name.setObjectName("taskName")
        self.progress = QProgressBar()
        self.time_left = QLabel()
        self.time_left.setObjectName("timeLeft")
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setObjectName("logTail")
        self.log.setMaximumBlockCount(500)
        self.frame = QLabel("no frame rendered here yet")
        self.frame.setObjectName("lastFrame")
        self.frame.setMinimumSize(240, 150)
        self.frame.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.frame.setStyleSheet("background: #222; color: #aaa;")
        grid.addWidget(self.task_name, 0, 0, 1, 2)
        grid.addWidget(self.progress, 1, 0)
        grid.addWidget(self.time_left, 1, 1)
        grid.addWidget(self.log, 2, 0)
        grid.addWidget(self.frame, 2, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        return box

    def _about_box(self) -> QGroupBox:
        box = QGroupBox("Manager and today")
        layout = QVBoxLayout(box)
        self.manager = QLabel()
        self.manager.setObjectName("managerInfo")
        self.manager.setWordWrap(True)
        self.manager.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.today = QLabel()
        self.today.setObjectName("todayHistory")
        layout.addWidget(self.manager)
        layout.addWidget(self.today)
        layout.addStretch(1)
        return box

    def _schedule_box(self) -> QGroupBox:
        box = QGroupBox("Sleep schedule (kept on the Manager)")
        layout = QVBoxLayout(box)
        self.editor = SleepScheduleEditor()
        self.save_schedule = QPushButton("Save schedule")
        self.save_schedule.setObjectName("saveSchedule")
        self.save_schedule.clicked.connect(lambda: spawn(self._save_schedule()))
        layout.addWidget(self.editor)
        layout.addWidget(self.save_schedule, 0, Qt.AlignmentFlag.AlignRight)
        return box

    def _options_box(self) -> QGroupBox:
        box = QGroupBox("On this computer")
        grid = QGridLayout(box)
        enabled, rule = saved_rule()
        self.away_on = QCheckBox("Render only when I'm away: after")
        self.away_on.setObjectName("awayEnabled")
        self.away_on.setChecked(enabled)
        self.away_minutes = QSpinBox(minimum=1, maximum=240, suffix=" min without keyboard or mouse")
        self.away_minutes.setValue(int(rule.away_after_s // 60))
        self.away_return = QComboBox()
        self.away_return.addItem("when I'm back: finish the running task", "finish")
        self.away_return.addItem("when I'm back: give the task back at once", "requeue")
        self.away_return.setCurrentIndex(1 if rule.on_return == "requeue" else 0)
        self.away_note = QLabel()
        self.away_note.setObjectName("awayNote")
        self.away_note.setWordWrap(True)
        for signal in (self.away_on.toggled, self.away_minutes.valueChanged, self.away_return.currentIndexChanged):
            signal.connect(lambda *_: self._apply_away(save=True))
        grid.addWidget(self.away_on, 0, 0)
        grid.addWidget(self.away_minutes, 0, 1)
        grid.addWidget(self.away_return, 0, 2)
        grid.addWidget(self.away_note, 1, 0, 1, 3)
        self._load_options(grid, 2)
        self.login = QCheckBox("Start the worker when I log in")
        self.login.setObjectName("startAtLogin")
        why = autostart.supported()
        self.login.setEnabled(not why)
        self.login.setToolTip(why)
        self.login.setChecked(not why and autostart.is_enabled())
        self.login.toggled.connect(lambda on: autostart.set_enabled(on))
        grid.addWidget(self.login, 4, 0, 1, 3)
        notes = QHBoxLayout()
        notes.addWidget(QLabel("Notify me:"))
        for title, label in (("Task failed", "a task failed here"), ("Manager lost", "Manager lost / found"),
                             ("Worker asleep", "asleep / awake")):
            check = QCheckBox(label)
            check.setChecked(notification_enabled(title))
            check.toggled.connect(lambda on, key=NOTIFY_KINDS[title]: set_notification(key, on))
            notes.addWidget(check)
        notes.addStretch(1)
        grid.addLayout(notes, 5, 0, 1, 3)
        return box

    def _load_options(self, grid: QGridLayout, row: int) -> None:
        enabled, cpu, gpu = saved_limits()
        self.load_on = QCheckBox("Stay asleep while my own programs are busy:")
        self.load_on.setObjectName("loadEnabled")
        self.load_on.setChecked(enabled)
        self.load_cpu = QSpinBox(minimum=0, maximum=100, prefix="CPU above ", suffix=" %")
        self.load_cpu.setObjectName("loadCpu")
        self.load_cpu.setValue(cpu)
        self.load_gpu = QSpinBox(minimum=0, maximum=100, prefix="or GPU above ", suffix=" %")
        self.load_gpu.setObjectName("loadGpu")
        self.load_gpu.setValue(gpu)
        self.load_note = QLabel()
        self.load_note.setObjectName("loadNote")
        self.load_note.setWordWrap(True)
        self.load_on.toggled.connect(lambda *_: self._apply_load(save=True))
        for spin in (self.load_cpu, self.load_gpu):
            spin.valueChanged.connect(lambda *_: self._apply_load(save=True))
        grid.addWidget(self.load_on, row, 0)
        grid.addWidget(self.load_cpu, row, 1)
        grid.addWidget(self.load_gpu, row, 2)
        grid.addWidget(self.load_note, row + 1, 0, 1, 3)

    def _apply_load(self, save: bool = False) -> None:
        """Start, retune or stop the load hold as the options say."""
        on, cpu, gpu = self.load_on.isChecked(), self.load_cpu.value(), self.load_gpu.value()
        if save:
            save_limits(on, cpu, gpu)
        if not on:
            if self.load is not None:
                self.load.stop()
                self.load = None
            self.load_note.setText("")
            return
        if self.load is not None:   # new limits: the same watcher, the same sampler history
            self.load.hold.cpu_limit, self.load.hold.gpu_limit = float(cpu), float(gpu)
            self.load.poll()
            return
        self.load = LoadWatcher(self.controller, LoadSampler(), LoadHold(float(cpu), float(gpu)),
                                self._load_interval_ms, may_wake=self._away_lets_it_wake, parent=self)
        self.load.read.connect(self._show_load)
        self.load_note.setText("Measuring the load of your other programs…")
        self.load.start()

    def _away_lets_it_wake(self) -> bool:
        return self.away is None or self.away.rule.away is not False

    def _show_load(self, reading) -> None:
        held = self.load.reason if self.load is not None else ""
        self.load_note.setText(f"Now {reading.describe()}." + (f" Held asleep: {held}." if held else ""))

    def _apply_away(self, save: bool = False) -> None:
        """Start or stop the away rule as the options say."""
        on, minutes, back = self.away_on.isChecked(), self.away_minutes.value(), self.away_return.currentData()
        if save:
            save_rule(on, minutes, back)
        if self.away is not None:
            self.away.stop()
            self.away = None
        self.away_note.setText("")
        if not on:
            return
        source, why = (self._idle_source, "") if self._idle_source is not None else open_idle_source()
        if source is None:
            self.away_note.setText(f"Cannot tell when you are away here: {why}.")
            return
        self.away = AwayWatcher(self.controller, source, AwayRule(60.0 * minutes, back), parent=self)
        self.away.decided.connect(lambda action: self.statusBar().showMessage(f"Away rule: {action}", 8000))
        self.away.start()
        self.away_note.setText(f"Renders after {minutes} min without input; asleep while you work.")

    def _menus(self) -> None:
        worker = self.menuBar().addMenu("&Worker")
        self.worker_actions.quit.setShortcut(QUIT_SHORTCUT)
        self.worker_actions.fill(worker, open_window=False)  # this window is the one it would open
        self.mode_menu = ModeMenu(self.modes, WORKER_WINDOW, self)
        self.mode_menu.open_requested.connect(self.open_requested.emit)
        self.mode_menu.wizard_requested.connect(self.wizard_requested.emit)
        self.menuBar().addMenu(self.mode_menu.menu)

    # --- showing -----------------------------------------------------------------------------------
    def show_state(self, state: ts.TrayState) -> None:
        self.state_icon.setPixmap(tray_icons.draw(state.kind, state.progress, 40))
        rest = state.text[len(state.word):] if state.text.startswith(state.word) else f" — {state.text}"
        self.state_text.setText(f"<b>{headline(state.word)}</b>{html.escape(rest, quote=False)}")

    def show_task(self, task: dict | None) -> None:
        if not task:
            self.task_name.setText("No task right now.")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.time_left.setText("")
            return
        done, total = int(task.get("steps_completed") or 0), int(task.get("steps_total") or 0)
        self.task_name.setText(f"<b>{task.get('name', '')}</b> — {task.get('activity') or 'running'}")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        eta = task.get("eta_s")
        self.time_left.setText(f"about {say_duration(eta)} left" if eta else "time left: not known yet")

    def show_frame(self, data: bytes) -> None:
        pix = QPixmap()
        if pix.loadFromData(data):
            self.frame.setPixmap(pix.scaled(self.frame.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))

    def show_history(self, history: dict) -> None:
        self.today.setText(f"Today: {history['done']} tasks done, {history['failed']} failed, "
                           f"{format_duration(history['seconds']) if history['seconds'] else 'no time'} rendering")

    def _show_manager(self) -> None:
        c = self.controller
        found = {"discovery": "found on the network (UPnP/SSDP)", "typed": "typed in"}.get(
            self.role.manager_found_by, "this computer's own Manager" if self.services.manager_running else "given")
        link = "connected" if c.connected else (c.message or "connecting")
        self.manager.setText(f"Manager: {c.url or 'none yet'}<br>How it was found: {found}<br>"
                             f"Connection: {link}<br>This worker: {c.worker_name}")

    def _manager_moved(self, url: str) -> None:
        """Remember where the Manager is now, so the next start goes there directly."""
        from app.common.roles import role_config_path, save_role

        self.role.manager_url = url
        if role_config_path().exists():
            try:
                save_role(self.role)
            except OSError as exc:
                _log.warning("cannot remember the Manager's new address: %s", exc)
        self.statusBar().showMessage(f"The Manager was found again at {url}.", 15000)
        self._show_manager()

    def bring_up(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.has_tray and not QSettings().value(NO_TRAY_SAID, False, type=bool):
            QSettings().setValue(NO_TRAY_SAID, True)
            self.statusBar().showMessage("No system tray on this desktop: the worker's controls are in this window.",
                                         30000)

    async def _save_schedule(self) -> None:
        if await self.controller.save_schedule(self.editor.schedule()):
            self.statusBar().showMessage("Sleep schedule saved on the Manager.", 8000)

    # --- quitting ----------------------------------------------------------------------------------
    def quit_choice(self) -> str:
        """Ask what to do with a running task; QUIT_NOW when nothing runs."""
        if self.controller.state.kind != ts.RENDERING:
            return QUIT_NOW
        box = QMessageBox(QMessageBox.Icon.Question, "Quit the worker",
                          "This computer is rendering a task. What should happen to it?", parent=self)
        finish = box.addButton("Finish the task, then quit", QMessageBox.ButtonRole.AcceptRole)
        now = box.addButton("Quit now (the task goes back to the queue)", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        choices: dict[QAbstractButton, str] = {finish: QUIT_FINISH, now: QUIT_NOW}
        return choices.get(box.clickedButton(), QUIT_CANCEL)

    def _quit_asked(self) -> None:
        (self.quit_handler or self.request_quit)()

    def request_quit(self) -> None:
        """Ask (in this Qt slot, not inside a coroutine), then quit as chosen."""
        spawn(self.ask_quit(self.quit_choice()))

    async def ask_quit(self, choice: str) -> None:
        if choice == QUIT_CANCEL:
            return
        if choice == QUIT_FINISH:
            await self.controller.finish_then_stop()
            self.statusBar().showMessage("Finishing the task; the worker quits when it is done.")
            while self.controller.state.kind == ts.RENDERING:
                await asyncio.sleep(0.5)
        await self.shutdown()
        self.closed.emit()

    async def shutdown(self) -> None:
        if self.away is not None:
            self.away.stop()
        if self.load is not None:
            self.load.stop()
        if self.tray is not None:
            self.tray.hide()
        await self.controller.stop()

    def close_for_good(self) -> None:
        """Close the window (the program ends): no question, no hiding into the tray."""
        self._closing_for_good = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing_for_good:
            super().closeEvent(event)
            return
        if self.tray is not None:
            event.ignore()
            self.hide()  # the worker keeps running in the tray
            return
        event.ignore()
        self._quit_asked()
