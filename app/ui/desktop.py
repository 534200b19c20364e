"""`tablao` with no arguments: the desktop app in the role this computer has, one program per user.

First launch (no `tablao-desktop.yaml` yet): the setup wizard runs with the local Manager on a
private address (app/ui/setup_flow.py), and the chosen role starts. Later launches start the saved
role and open the dashboard of the local Manager (Manager, or Manager and Worker) or the worker window
(Worker). What runs here is one `ModeModel` (app/ui/mode.py) that every window's Mode menu shows;
choosing "Manager and Worker" or "Manager" there starts or stops this computer's worker without
leaving the program, and is kept for the next start. A Manager port taken at start is a question
(the next free port, or quit), not a crash.

It is this user's one Tablao: later launches hand their request to `handle` (app/ui/instance.py),
which brings the window up, selects the job and watches a Manager elsewhere too. Closing the
window keeps the farm running in the tray where there is one; Quit (File ▸ Quit, Ctrl+Q, either
tray) asks first when stopping would interrupt the farm (app/ui/quitting.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.common.ports import PortInUse
from app.common.roles import RoleConfig, load_role, save_role
from app.ui import tray_state as ts
from app.ui.aio import spawn
from app.ui.instance import OPEN_DASHBOARD, LaunchRequest
from app.ui.launch import open_dashboard
from app.ui.local_hub import LocalHub, start_hub_here, toggle_hub_here
from app.ui.local_services import LocalServices
from app.ui.mode import BOTH, DASHBOARD, MANAGER, MODES, NOT_HERE, WORKER, WORKER_WINDOW, ModeModel, mode_of
from app.ui.quitting import (
    AFTER_TASKS,
    CANCEL,
    KEEP,
    Activity,
    QuitQuestion,
    WaitingForTasks,
    wait_or_stop_now,
)
from app.ui.setup_flow import SetupFlow
from app.ui.tray import tray_available
from app.ui.windows.main_window import remembered_managers

if TYPE_CHECKING:
    from app.ui.dashboard import Dashboard
    from app.ui.manager_tray import ManagerTray
    from app.ui.windows.main_window import MainWindow
    from app.ui.windows.worker_mode import WorkerModeWindow

_log = logging.getLogger(__name__)


class DesktopApp:
    """Owns the local services and the windows; `run()` returns when the user quits.

    `watch`: a dashboard-only launch (`tablao dashboard`, `tablao --manager URL`): those Managers,
    no local roles until a later plain `tablao` asks for them."""

    def __init__(self, services: LocalServices, role: RoleConfig | None, job_id: str = "",
                 watch: list[str] | None = None, has_tray: bool | None = None, hub: LocalHub | None = None):
        self.services = services
        self.role = role
        self.job_id = job_id  # selected in the dashboard when it opens (`tablao --job ID`)
        self.watch = watch
        self.has_tray = tray_available() if has_tray is None else has_tray
        self.quit = asyncio.Event()
        self.setup = SetupFlow(self)
        self.dashboard: Dashboard | None = None
        self.window: MainWindow | None = None
        self.worker_window: WorkerModeWindow | None = None
        self.tray: ManagerTray | None = None  # while the local Manager runs and the desktop has a tray
        self.modes = ModeModel()  # what runs here: the one truth of every Mode menu
        self.modes.requested.connect(lambda mode: spawn(self.switch_mode(mode)))
        self.front = DASHBOARD  # the window the user works in now (DASHBOARD or WORKER_WINDOW)
        self.roles_started = False
        self.question: QuitQuestion | None = None      # while Quit asks
        self.waiting: WaitingForTasks | None = None    # while the farm stops after its tasks
        self._quitting: asyncio.Task | None = None
        self._starting: asyncio.Task | None = None
        self.hub = hub  # a hub run here (Mode ▸ Hub, `tablao hub` without --headless): started by run()

    @property
    def _wizard(self):
        return self.setup.wizard

    # --- running ---------------------------------------------------------------------------------
    async def run(self) -> int:
        try:
            if self.watch is not None:
                await self.open_dashboard(self.watch)
                if self.hub is not None and not await start_hub_here(self):
                    return 2
            elif not await self.start_local():
                return 0
            await self.quit.wait()
            return 0
        finally:
            await self.shutdown()

    async def start_local(self) -> bool:
        """Start this computer's role, after the wizard on first launch; False when it was cancelled."""
        if self.role is None and not await self.first_launch():
            return False
        await self.start_role()
        return True

    async def first_launch(self) -> bool:
        return await self.setup.first_launch()

    async def start_role(self) -> None:
        assert self.role is not None
        if self.role.runs_manager:
            url = await self._start_manager()
            if url is None:
                self.quit.set()
                return
            if self.role.runs_worker:
                self.services.start_worker(url)
            self._update_modes()
            await self.open_dashboard([url])
            self._show_tray()
        else:
            await self.services.stop_manager()  # the wizard's, on a computer that only renders
            if not self.role.manager_url:
                self.role = await self.discover_manager(self.role)
            self.services.start_worker(self.role.manager_url,
                                       rediscover=self.role.manager_found_by == "discovery")
            self._update_modes()
            await self.open_worker_window()
        self.roles_started = True

    async def _start_manager(self) -> str | None:
        """The local Manager's URL; a busy port is asked about (None: the user chose to quit)."""
        from app.ui.dialogs.port_busy import ask_other_port

        if self.services.on_temporary_address:  # the wizard's private one (it ended before Apply moved it)
            await self.services.stop_manager()
        while True:
            try:
                return await self.services.start_manager()
            except PortInUse as exc:
                port = await ask_other_port(exc, can_change=not self.services.listen_given)
                if port is None:
                    return None
                self.services.save_listen_port(port)

    async def discover_manager(self, role: RoleConfig) -> RoleConfig:
        """No Manager URL given: look for one on the network (UPnP/SSDP, as Flamenco's workers do);
        `role` with the one found, else `role` as it was."""
        from app.common.discovery import find_manager

        url = await find_manager(3.0)
        if url:
            return RoleConfig(role=role.role, manager_url=url, manager_found_by="discovery")
        _log.warning("no manager answered on the network; give one with --manager URL")
        return role

    async def shutdown(self) -> None:
        """Windows and trays go, then the services (worker first): the one way out of the program."""
        if self.tray is not None:
            self.tray.hide()
        for box in (self.question, self.waiting):
            if box is not None:
                box.hide()
        if self.window is not None:
            self.window.close_for_good()
        if self.dashboard is not None:
            await self.dashboard.close()
        if self.hub is not None:
            await self.hub.stop()
        if self.worker_window is not None:
            await self.worker_window.shutdown()
            self.worker_window.close_for_good()
        await self.services.stop()

    # --- windows ---------------------------------------------------------------------------------
    async def open_dashboard(self, urls: list[str]) -> None:
        """The dashboard window (made once) on `urls`; more Managers are added to the one open."""
        window = self.window
        if window is None:
            local = self.services.manager_running
            tokens = {self.services.manager_url: self.services.admin_token} if local else {}
            dashboard, window = await open_dashboard(urls, self.job_id, tokens, modes=self.modes)
            self.dashboard, self.window = dashboard, window
            self.job_id = ""
            window.owned = True
            window.close_requested.connect(self._window_closed)
            window.quit_requested.connect(self.request_quit)
            window.open_requested.connect(lambda which: spawn(self.open_window(which)))
            window.wizard_requested.connect(lambda: spawn(self.reopen_wizard()))
            window.mode_menu.hub_requested.connect(lambda: spawn(self.join_hub()))
            window.mode_menu.hub_role_requested.connect(lambda: spawn(toggle_hub_here(self)))
            dashboard.farm_status_changed.connect(self._farm_status)
        else:
            for url in urls:
                self._watch(url)
        self.front = DASHBOARD
        window.bring_up()

    async def open_worker_window(self) -> None:
        from app.ui.windows.worker_mode import WorkerModeWindow

        window = self.worker_window
        if window is None:
            window = self.worker_window = WorkerModeWindow(self.services, self.role, has_tray=self.has_tray,
                                                           modes=self.modes)
            window.quit_handler = self.request_quit
            window.open_requested.connect(lambda which: spawn(self.open_window(which)))
            window.wizard_requested.connect(lambda: spawn(self.reopen_wizard()))
            window.mode_menu.hub_requested.connect(lambda: spawn(self.join_hub()))
            window.mode_menu.hub_role_requested.connect(lambda: spawn(toggle_hub_here(self)))
        self.front = WORKER_WINDOW
        self._sync_trays()
        window.bring_up()

    async def open_window(self, which: str) -> None:
        """Mode ▸ Open the dashboard / Open the worker window (each offered by the other window)."""
        if which == WORKER_WINDOW and self.modes.runs_worker:
            await self.open_worker_window()
        elif which == DASHBOARD:
            await self.show_dashboard()

    async def show_dashboard(self) -> None:
        """The dashboard: of the local Manager, else of the Manager this computer renders for."""
        if self.window is not None:
            self.front = DASHBOARD
            self.window.bring_up()
            return
        own = self.role.manager_url if self.role is not None else ""
        urls = [self.services.manager_url] if self.services.manager_running else [own] if own else []
        await self.open_dashboard(urls or remembered_managers())

    async def switch_mode(self, mode: str) -> None:
        """Mode ▸ Manager / Worker / Manager and Worker: start or stop this computer's worker as `mode`
        says, and keep it for the next start. Only the switches `_update_modes` allows happen."""
        if self.role is None or mode not in MODES or mode == self.modes.mode or self.modes.why_not.get(mode):
            return
        if mode == BOTH:
            self.services.start_worker(self.services.manager_url)
            await self._keep_role(BOTH)
            self._update_modes()
            await self.open_worker_window()
        elif mode == MANAGER:
            await self._close_worker_window()
            await self.services.stop_worker()
            await self._keep_role(MANAGER)
            self._update_modes()
            await self.show_dashboard()

    def _update_modes(self) -> None:
        """Set the one mode model from what runs here, with why each other mode cannot be chosen."""
        if self.role is None:
            self.modes.set_mode("", {m: NOT_HERE for m in MODES})
            return
        manager, worker = self.services.manager_running, self.services.worker_running
        if manager:
            why = {WORKER: "This computer runs the farm's Manager, which other computers use: choose Worker "
                           "in Mode ▸ Setup wizard… to make it only render, from the next start."}
        else:
            where = self.role.manager_url or "found on the network"
            why = {m: f"This computer renders for the Manager at {where}; it is not set up to run a Manager."
                   for m in (MANAGER, BOTH)}
        self.modes.set_mode(mode_of(manager, worker), why)

    async def _keep_role(self, role: str) -> None:
        """The chosen mode is this computer's role from the next start on too (written off the UI thread)."""
        assert self.role is not None
        self.role = RoleConfig(role=role, manager_url=self.role.manager_url,
                               manager_found_by=self.role.manager_found_by)
        try:
            await asyncio.to_thread(save_role, self.role)
        except OSError as exc:
            _log.warning("cannot keep the mode for the next start: %s", exc)

    async def _close_worker_window(self) -> None:
        window, self.worker_window = self.worker_window, None
        if window is not None:
            await window.shutdown()
            window.close_for_good()
            window.deleteLater()
        self.front = DASHBOARD
        self._sync_trays()

    async def reopen_wizard(self) -> None:
        """Mode ▸ Setup wizard…; the Mode menus follow what runs once it is closed."""
        try:
            await self.setup.reopen()
        finally:
            if self.roles_started:
                self._update_modes()

    async def join_hub(self) -> None:
        """Mode ▸ Join a hub…: the local Manager's hub settings, saved and applied by a restart."""
        from PySide6.QtWidgets import QDialog

        from app.ui.dialogs.join_hub import JoinHubDialog, hub_link_values, save_hub_link

        path = self.services.manager_config_path
        dialog = JoinHubDialog(hub_link_values(path), self.window)
        answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def finished(code: int) -> None:
            if not answered.done():
                answered.set_result(code)

        dialog.finished.connect(finished)
        dialog.open()
        if await answered != QDialog.DialogCode.Accepted:
            return
        save_hub_link(path, dialog.values())
        runner = self.services.manager_runner
        if runner is not None:
            runner.request_restart()  # the link is built when the Manager starts

    async def manager_moved(self, old_url: str, new_url: str) -> None:
        """The local Manager listens elsewhere now (the wizard's network page): follow it."""
        if self.dashboard is not None and old_url.rstrip("/") in self.dashboard.connections:
            await self.dashboard.remove_manager(old_url)
            self.dashboard.add_manager(new_url, admin_token=self.services.admin_token)
        if self.services.worker_running and self.roles_started:
            await self.services.stop_worker()
            self.services.start_worker(new_url)
        if self.tray is not None:
            self.tray.address = self.services.public_url

    def bring_up(self) -> None:
        """The window the user works in now comes to the front."""
        if self._wizard is not None:
            self._wizard.show()
            self._wizard.raise_()
            self._wizard.activateWindow()
        elif self.front == WORKER_WINDOW and self.worker_window is not None:
            self.worker_window.bring_up()
        elif self.window is not None:
            self.window.bring_up()
        elif self.worker_window is not None:
            self.worker_window.bring_up()

    # --- later launches --------------------------------------------------------------------------
    def handle(self, request: LaunchRequest) -> None:
        """A later `tablao` asked for something (validated by the instance server)."""
        _log.info("a later launch asks for the %s%s", request.open,
                  f" with job {request.job}" if request.job else "")
        spawn(self._handle(request))

    async def _handle(self, request: LaunchRequest) -> None:
        if request.open != OPEN_DASHBOARD and not self.roles_started and self.watch is not None:
            if self._starting is None or self._starting.done():  # dashboard-only so far: start the roles
                self._starting = spawn(self._start_roles_here())
            return
        if request.open == OPEN_DASHBOARD or request.job:
            await self.show_job(list(request.managers), request.job)
        else:
            self.bring_up()

    async def _start_roles_here(self) -> None:
        self.role = self.role or load_role()
        if not await self.start_local() and self.window is None:
            self.quit.set()

    async def show_job(self, managers: list[str], job_id: str) -> None:
        """The dashboard with `managers` watched and `job_id` selected; opened when there is none."""
        if self._wizard is not None and self.window is None:  # first launch, still asking
            self.job_id = job_id or self.job_id
            self.bring_up()
            return
        others = [url for url in managers if not self.is_local(url)]
        if self.window is None:
            local = [self.services.manager_url] if self.services.manager_running else []
            own = [self.role.manager_url] if self.role is not None and self.role.manager_url else []
            self.job_id = job_id
            await self.open_dashboard(local + others or own or remembered_managers())
        else:
            for url in others:
                self._watch(url)
            if job_id:
                self.window.show_job(job_id)
            self.window.bring_up()

    def _watch(self, url: str) -> None:
        """Add `url` to the dashboard unless it is watched already (the local Manager by its own URL)."""
        if self.dashboard is None:
            return
        local = self.is_local(url)
        key = (self.services.manager_url if local else url).rstrip("/")
        if key not in self.dashboard.connections:
            self.dashboard.add_manager(key, admin_token=self.services.admin_token if local else "")

    def is_local(self, url: str) -> bool:
        """Whether `url` is the Manager running in this program (by any of this computer's names)."""
        if not self.services.manager_running:
            return False
        from app.manager.settings.guidance import lan_addresses

        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        names = {"localhost", "127.0.0.1", "::1", socket.gethostname().lower(), *lan_addresses()}
        return port == self.services.local_manager().port and (parts.hostname or "").lower() in names

    # --- closing and quitting --------------------------------------------------------------------
    def _window_closed(self) -> None:
        """The user closed the dashboard window."""
        window = self.window
        assert window is not None  # it sent this
        if not self.roles_started and (self._starting is None or self._starting.done()):
            self.quit.set()  # nothing of ours runs: a dashboard only
        elif not self.roles_started:
            window.hide()  # the roles are starting (a later `tablao` asked): their window comes
        elif self._tray_shown():
            window.hide()
            if self.tray is not None:
                self.tray.say_still_running()
        elif self.worker_window is not None and self.worker_window.isVisible():
            window.hide()
        else:
            self.request_quit()

    def request_quit(self) -> None:
        """File ▸ Quit, Ctrl+Q, a tray's Quit: ask when the farm is working, then stop as chosen."""
        if self.question is not None:
            self.question.raise_()
            return
        if self._quitting is None or self._quitting.done():
            self._quitting = spawn(self._quit())

    async def _quit(self) -> None:
        activity = await self.activity()
        if activity.busy:
            self.question = QuitQuestion(activity, self._tray_shown(), self.services.manager_running)
            try:
                choice = await self.question.answer()
            finally:
                self.question = None
            if choice == CANCEL:
                return
            if choice == KEEP:
                self._hide_windows()
                return
            if choice == AFTER_TASKS:
                await self._stop_after_tasks()
        self.quit.set()

    async def activity(self) -> Activity:
        """What stopping would interrupt: this computer's own worker is not counted among the others."""
        farm = await self.services.activity()
        rendering_here = (self.worker_window is not None and not self.services.manager_running
                          and self.worker_window.controller.state.kind == ts.RENDERING)
        if farm is None:
            return Activity(rendering_here=rendering_here)
        mine = self.services.worker_name if self.services.worker_running else None
        return Activity(workers=tuple(n for n in farm.workers if n != mine),
                        jobs=farm.jobs_active + farm.jobs_queued, tasks=farm.tasks_active)

    async def _stop_after_tasks(self) -> None:
        self.waiting = WaitingForTasks()
        if self.services.manager_running:
            waiting = asyncio.create_task(self.services.drain(progress=self.waiting.show_running))
        else:
            waiting = asyncio.create_task(self._worker_task_done())
        try:
            await wait_or_stop_now(self.waiting, waiting)
        finally:
            self.waiting = None

    async def _worker_task_done(self) -> None:
        if self.worker_window is None:
            return  # no worker window, no worker: nothing renders here
        controller = self.worker_window.controller
        await controller.finish_then_stop()
        while controller.state.kind == ts.RENDERING:
            await asyncio.sleep(0.5)

    def _hide_windows(self) -> None:
        for window in (self.window, self.worker_window):
            if window is not None:
                window.hide()
        if self.tray is not None:
            self.tray.say_still_running()

    # --- trays -----------------------------------------------------------------------------------
    def _show_tray(self) -> None:
        if not self.has_tray or self.tray is not None or not self.services.manager_running:
            return
        from app.ui.manager_tray import ManagerTray

        tray = self.tray = ManagerTray(self.services.public_url)
        tray.open_requested.connect(lambda: spawn(self.show_dashboard()))
        tray.quit_requested.connect(self.request_quit)
        self._sync_trays()

    def _sync_trays(self) -> None:
        """One icon: the worker's (its controls) while the worker window has one, else the Manager's."""
        if self.tray is None:
            return
        if self.worker_window is not None and self.worker_window.tray is not None:
            self.tray.hide()
        else:
            self.tray.show()

    def _tray_shown(self) -> bool:
        worker_tray = self.worker_window is not None and self.worker_window.tray is not None
        return self.has_tray and (worker_tray or (self.tray is not None and self.tray.shown))

    def _farm_status(self, _label: str, status: str) -> None:
        if self.tray is not None:
            self.tray.show_farm(status)
