"""The setup wizard inside the desktop app: on first launch, and again from Mode ▸ Setup wizard….

First launch: nothing listens on the network before the lead has answered. The local Manager runs
for the wizard's checks on 127.0.0.1, on a port the system picks (`WIZARD_LISTEN`); the wizard asks
for the port other computers will use (its network page checks it and proposes the next free one);
Apply sends the setup, then moves the Manager to that port (`relisten`), so the test render can
use workers on other computers. A cancelled wizard leaves nothing listening: the program ends.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from app.api.client import ManagerClient
from app.common.roles import RoleConfig, save_role
from app.ui.aio import settle
from app.ui.local_services import WIZARD_LISTEN
from app.ui.wizard.context import WizardContext
from app.ui.wizard.wizard import SetupWizard

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp


class SetupFlow:
    def __init__(self, app: DesktopApp):
        self.app = app
        self.wizard: SetupWizard | None = None  # while one is open

    async def first_launch(self) -> bool:
        """Run the wizard against the local Manager on its private address; False when cancelled."""
        services = self.app.services
        url = await services.start_manager(temporary_listen=WIZARD_LISTEN)
        client = ManagerClient(url, admin_token=services.admin_token)
        ctx = self._context(client, current_port=0)
        try:
            done = await self.run_wizard(ctx)
        finally:
            await (ctx.client or client).close()
        if not done:
            return False
        role = RoleConfig(role=ctx.role, manager_url=ctx.manager_url,
                          manager_found_by=ctx.manager_found_by or ("typed" if ctx.manager_url else ""))
        self.app.role = role
        save_role(role)
        return True

    async def reopen(self) -> None:
        """Mode ▸ Setup wizard…: the wizard on the current configuration."""
        app, services = self.app, self.app.services
        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        running = services.manager_running
        client = ManagerClient(services.manager_url, admin_token=services.admin_token) if running else None
        ctx = self._context(client, current_port=services.local_manager().port if running else 0)
        ctx.role = app.role.role if app.role else "manager"
        ctx.manager_url = app.role.manager_url if app.role else ""
        try:
            if client is not None:
                config = await client.request("GET", "/api/v3/configuration")
                ctx.storage_path = config.get("storageLocation", "")
                ctx.shaman = bool(config.get("shamanEnabled"))
                settings = await client.configuration_file()  # admin: the wizard has this Manager's token
                ctx.allow_blend_scripts = bool(settings.get("allow_blend_scripts"))
                ctx.submit_token = str(settings.get("submit_token") or "")
            if await self.run_wizard(ctx):
                app.role = RoleConfig(role=ctx.role, manager_url=ctx.manager_url,
                                      manager_found_by="typed" if ctx.manager_url else "")
                save_role(app.role)
        finally:
            if ctx.client is not None:
                await ctx.client.close()

    def _context(self, client: ManagerClient | None, current_port: int) -> WizardContext:
        services = self.app.services
        host, port = services.listen_host_port()
        ctx = WizardContext(client=client, listen_host=host, listen_port=port or 8080,
                            listen_given=services.listen or "", current_port=current_port)
        ctx.relisten = lambda chosen: self._relisten(ctx, chosen)
        return ctx

    async def run_wizard(self, ctx: WizardContext) -> bool:
        wizard = SetupWizard(ctx)
        wizard.applied.connect(lambda: self._applied(ctx))
        finished = asyncio.get_running_loop().create_future()
        wizard.finished.connect(lambda result: settle(finished, result))
        wizard.show()
        self.wizard = wizard
        try:
            return bool(await finished)
        finally:
            self.wizard = None
            wizard.deleteLater()

    async def _relisten(self, ctx: WizardContext, port: int) -> None:
        """After Apply: the Manager listens where other computers reach it; the wizard follows it."""
        services = self.app.services
        before = services.manager_url
        if not services.on_temporary_address and port == ctx.current_port:  # reopened, same port: no restart
            ctx.public_url = services.public_url
            return
        try:
            await services.relisten(port)
        finally:
            if services.manager_running and services.manager_url != before:
                moved = ManagerClient(services.manager_url, admin_token=services.admin_token)
                old, ctx.client = ctx.client, moved
                if old is not None:
                    await old.close()
                await self.app.manager_moved(before, services.manager_url)
        ctx.public_url = services.public_url
        ctx.current_port = services.local_manager().port

    def _applied(self, ctx: WizardContext) -> None:
        services = self.app.services
        if ctx.role == "both" and services.manager_running:
            services.start_worker(services.manager_url)
