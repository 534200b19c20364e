"""`tablao` with no arguments: the desktop app in the role this computer has.

First launch (no `tablao-desktop.yaml` yet): the local Manager starts so the setup wizard can check
storage and Blender through it, the wizard runs, and the chosen role starts. Later launches start
the saved role and open the dashboard of the local Manager (Manager mode) or the worker window
(Worker mode). The Mode menu switches between them without leaving the program.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from PySide6.QtWidgets import QApplication

from app.api.client import ManagerClient
from app.common.roles import RoleConfig, load_role, save_role
from app.ui.aio import spawn
from app.ui.launch import open_dashboard, run_in_qt
from app.ui.local_services import LocalServices
from app.ui.windows.main_window import MODE_MANAGER, MODE_WORKER
from app.ui.wizard.context import WizardContext
from app.ui.wizard.wizard import SetupWizard

_log = logging.getLogger(__name__)


class DesktopApp:
    """Owns the local services and the windows; `run()` returns when the user quits."""

    def __init__(self, services: LocalServices, role: RoleConfig | None, job_id: str = ""):
        self.services = services
        self.role = role
        self.job_id = job_id  # selected in the dashboard when it opens (`tablao --job ID`)
        self.quit = asyncio.Event()
        self.dashboard = None
        self.window = None
        self.worker_window = None

    async def run(self) -> int:
        try:
            if self.role is None:
                if not await self.first_launch():
                    return 0
            await self.start_role()
            await self.quit.wait()
            return 0
        finally:
            if self.dashboard is not None:
                await self.dashboard.close()
            if self.worker_window is not None:
                await self.worker_window.shutdown()
            await self.services.stop()

    async def first_launch(self) -> bool:
        """Run the wizard against the local Manager; False when the user cancelled it."""
        url = await self.services.start_manager()
        ctx = WizardContext(client=ManagerClient(url, admin_token=self.services.admin_token))
        done = await self.run_wizard(ctx)
        await ctx.client.close()
        if not done:
            return False
        self.role = RoleConfig(role=ctx.role, manager_url=ctx.manager_url,
                               manager_found_by=ctx.manager_found_by or ("typed" if ctx.manager_url else ""))
        save_role(self.role)
        return True

    async def run_wizard(self, ctx: WizardContext) -> bool:
        wizard = SetupWizard(ctx)
        wizard.applied.connect(lambda: self._wizard_applied(ctx))
        finished = asyncio.get_running_loop().create_future()
        wizard.finished.connect(lambda result: finished.done() or finished.set_result(result))
        wizard.show()
        self._wizard = wizard
        return bool(await finished)

    def _wizard_applied(self, ctx: WizardContext) -> None:
        if ctx.role == "both" and self.services.manager_running:
            self.services.start_worker(self.services.manager_url)

    async def start_role(self) -> None:
        assert self.role is not None
        if self.role.runs_manager:
            url = await self.services.start_manager()
            if self.role.runs_worker:
                self.services.start_worker(url)
            await self.open_dashboard(url)
        else:
            if not self.role.manager_url:
                await self.discover_manager()
            self.services.start_worker(self.role.manager_url,
                                       rediscover=self.role.manager_found_by == "discovery")
            await self.open_worker_window()

    async def discover_manager(self) -> None:
        """No Manager URL given: look for one on the network (UPnP/SSDP, as Flamenco's workers do)."""
        from app.common.discovery import find_manager

        url = await find_manager(3.0)
        if url:
            self.role = RoleConfig(role=self.role.role, manager_url=url, manager_found_by="discovery")
        else:
            _log.warning("no manager answered on the network; give one with --manager URL")

    async def open_dashboard(self, url: str) -> None:
        if self.window is None:
            self.dashboard, self.window = await open_dashboard([url], self.job_id,
                                                               {url: self.services.admin_token})
            self.window.closed.connect(self.quit.set)
            self.window.mode_requested.connect(lambda mode: spawn(self.switch_mode(mode)))
            self.window.wizard_requested.connect(lambda: spawn(self.reopen_wizard()))
        self.window.set_mode(MODE_MANAGER)
        self.window.show()

    async def open_worker_window(self) -> None:
        from app.ui.windows.worker_mode import WorkerModeWindow

        if self.worker_window is None:
            self.worker_window = WorkerModeWindow(self.services, self.role)
            self.worker_window.closed.connect(self.quit.set)
            self.worker_window.mode_requested.connect(lambda mode: spawn(self.switch_mode(mode)))
        self.worker_window.show()

    async def switch_mode(self, mode: str) -> None:
        """Manager mode shows the dashboard; Worker mode makes this computer render."""
        assert self.role is not None
        if mode == MODE_WORKER:
            url = self.services.manager_url if self.services.manager_running else self.role.manager_url
            self.services.start_worker(url)
            if self.window is not None:
                self.window.set_mode(MODE_WORKER)
            await self.open_worker_window()
        elif mode == MODE_MANAGER and self.role.runs_manager:
            await self.services.stop_worker() if self.role.role == "manager" else None
            await self.open_dashboard(self.services.manager_url)

    async def reopen_wizard(self) -> None:
        url = self.services.manager_url if self.services.manager_running else ""
        client = ManagerClient(url, admin_token=self.services.admin_token) if url else None
        ctx = WizardContext(client=client, role=self.role.role if self.role else "manager",
                            manager_url=self.role.manager_url if self.role else "")
        if ctx.client is not None:
            config = await ctx.client.request("GET", "/api/v3/configuration")
            ctx.storage_path = config.get("storageLocation", "")
            ctx.shaman = bool(config.get("shamanEnabled"))
            settings = await ctx.client.configuration_file()  # admin: the wizard has this Manager's token
            ctx.allow_blend_scripts = bool(settings.get("allow_blend_scripts"))
            ctx.submit_token = str(settings.get("submit_token") or "")
        if await self.run_wizard(ctx):
            self.role = RoleConfig(role=ctx.role, manager_url=ctx.manager_url,
                                   manager_found_by="typed" if ctx.manager_url else "")
            save_role(self.role)
        if ctx.client is not None:
            await ctx.client.close()


def run_desktop(services: LocalServices | None = None, role: RoleConfig | None = None,
                force_role: str | None = None, manager_url: str = "", job_id: str = "") -> int:
    """The desktop app. `force_role` comes from `tablao manager|worker|all` without --headless;
    `job_id` is selected in the dashboard when it opens."""

    async def main(_app: QApplication) -> int:
        chosen = role or load_role()
        if force_role is not None:
            url = manager_url or (chosen.manager_url if chosen else "")
            found_by = "typed" if url else ""
            if force_role == "worker" and not url:
                from app.common.discovery import find_manager

                url = await find_manager(3.0) or ""
                found_by = "discovery"
                if not url:
                    print("tablao worker: no Manager answered on the network (UPnP/SSDP); give it with "
                          "--manager URL (or run `tablao` to set up this computer)", file=sys.stderr)
                    return 2
            chosen = RoleConfig(role=force_role, manager_url=url, manager_found_by=found_by)
        return await DesktopApp(services or LocalServices(), chosen, job_id).run()

    return run_in_qt(main)
