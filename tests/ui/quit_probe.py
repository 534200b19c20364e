"""Runs `tablao` (app.cli.main, the saved role) and quits it as a user does, for test_quit.py.

    python tests/ui/quit_probe.py DELAY_S [dashboard|worker]

Once the role started it waits DELAY_S, then triggers File ▸ Quit in the dashboard, or opens the
worker window (Mode ▸ Open the worker window) and triggers its Quit. The exit code is the program's.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    from app.cli import main as tablao
    from app.ui import desktop

    delay, where = float(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "dashboard"
    start_role = desktop.DesktopApp.start_role

    async def quit_later(app) -> None:
        if where == "worker":
            await app.open_window("worker window")
        await asyncio.sleep(delay)
        if where == "worker":
            app.worker_window.worker_actions.quit.trigger()
        else:
            app.window.quit_action.trigger()

    async def start_then_quit(self) -> None:
        await start_role(self)
        asyncio.ensure_future(quit_later(self))

    desktop.DesktopApp.start_role = start_then_quit
    return tablao([])


if __name__ == "__main__":
    sys.exit(main())
