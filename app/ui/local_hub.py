"""A hub run inside the desktop app (Mode ▸ Run a hub here, or `tablao hub --config HUB.yaml`
without --headless): the same `HubService` as `tablao hub --headless`, on the app's loop, and the
dashboard pointed at it with the hub's admin token.

Its configuration is HUB.yaml: the one given on the command line, else `hub/HUB.yaml` in Tablao's
config folder (written with the hub's defaults the first time: port 8090 on every interface).
Sites join it as they join a headless hub (`tablao hub add-site NAME --config` that file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from app.common.paths import config_dir

if TYPE_CHECKING:
    from app.hub.service import HubService

_log = logging.getLogger(__name__)


def default_hub_config() -> Path:
    return config_dir() / "hub" / "HUB.yaml"


class LocalHub:
    """`start()` returns the URL the dashboard watches; `stop()` ends the hub (its store closed)."""

    def __init__(self, config_path: Path | None = None, listen: str = ""):
        self.config_path = config_path or default_hub_config()
        self.listen = listen
        self.service: HubService | None = None
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def admin_token(self) -> str:
        return self.service.services.admin_token if self.service is not None else ""

    @property
    def url(self) -> str:
        assert self.service is not None
        host = "127.0.0.1"  # this computer's dashboard reaches the hub here whatever it listens on
        scheme = "https" if self.service.config.manager.extra.get("tls") else "http"
        return f"{scheme}://{host}:{self.service.port}"

    async def start(self) -> str:
        """Start the hub; ConfigError, StoreUnavailable or PortInUse (in words) when it cannot."""
        from app.hub.config import load_hub_config
        from app.hub.service import HubService
        from app.manager.settings.config import parse_listen

        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        config = await asyncio.to_thread(load_hub_config, self.config_path)
        if self.listen:
            parse_listen(self.listen)
            config.manager.listen_override = self.listen
        self.service = service = HubService(config)
        self._task = asyncio.create_task(service.run(), name="local-hub")
        ready = asyncio.create_task(service.ready.wait())
        done, _ = await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()  # raises why it stopped
        _log.info("the hub runs here: %s (configuration %s)", self.url, self.config_path)
        return self.url

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def start_hub_here(app) -> bool:
    """Start `app.hub` (a `DesktopApp`'s) and point its dashboard at it; False (said in a dialog and
    the log) when it cannot start."""
    hub: LocalHub = app.hub
    try:
        url = await hub.start()
    except Exception as exc:  # noqa: BLE001 - said to the user in the hub's own words
        from app.ui.error_dialog import show_error

        _log.error("the hub could not start: %s", exc)
        show_error(app.window, "The hub could not start", exc)
        await hub.stop()
        app.hub = None
        app.modes.set_hub(False)
        return False
    if app.window is None:
        await app.open_dashboard([])
    if app.dashboard is not None and url not in app.dashboard.connections:
        app.dashboard.add_manager(url, admin_token=hub.admin_token)
    app.modes.set_hub(True)
    return True


async def toggle_hub_here(app) -> None:
    """Mode ▸ Hub: start the hub here (HUB.yaml in Tablao's config folder) or stop the one running."""
    hub: LocalHub | None = app.hub
    if hub is None or not hub.running:
        app.hub = LocalHub()
        await start_hub_here(app)
        return
    url = hub.url
    app.hub = None
    if app.dashboard is not None and url in app.dashboard.connections:
        await app.dashboard.remove_manager(url)
    await hub.stop()
    app.modes.set_hub(False)


def run_desktop_hub(config_path: Path, listen: str = "") -> int:
    """`tablao hub --config HUB.yaml` without --headless: the desktop app with the hub and its dashboard."""
    from app.ui.desktop import DesktopApp
    from app.ui.launch import run_in_qt
    from app.ui.local_services import LocalServices

    async def main(_app) -> int:
        return await DesktopApp(LocalServices(), None, watch=[], hub=LocalHub(config_path, listen)).run()

    return run_in_qt(main)
