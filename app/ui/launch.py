"""Starts the desktop app: one `QApplication`, one asyncio loop (qasync) for services and UI.

`run_dashboard(urls)` watches Managers elsewhere with no local services; `run_desktop(...)` runs the
local role services (Manager, Worker or both) in the same loop and opens the dashboard of the
local Manager. Either may be given a job to select at start (`--job JOB_ID`, the Blender add-on's
"Open in dashboard"). Exceptions from async slots are logged and shown instead of vanishing.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication
from qasync import QEventLoop

from app.ui.dashboard import Dashboard
from app.ui.gc_guard import GuiThreadCollector
from app.ui.windows.main_window import MainWindow, remember_managers, remembered_managers

_log = logging.getLogger(__name__)


def make_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, named so QSettings land in Tablao's own place."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    QCoreApplication.setOrganizationName("Tablao")
    QCoreApplication.setApplicationName("Tablao")
    return app  # type: ignore[return-value]


def _install_excepthook(loop: asyncio.AbstractEventLoop) -> None:
    def handler(_loop, context) -> None:
        exc = context.get("exception")
        _log.error("unhandled error in the desktop app: %s", context.get("message"), exc_info=exc)

    loop.set_exception_handler(handler)


def run_in_qt(main: Callable[[QApplication], Awaitable[int]]) -> int:
    """Run `main(app)` on a qasync loop until it returns; return its exit code."""
    app = make_application()
    app.setQuitOnLastWindowClosed(False)  # the coroutine decides when the program ends
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    _install_excepthook(loop)
    collector = GuiThreadCollector()  # Qt objects in garbage cycles are freed on this thread only
    try:
        with loop:
            return int(loop.run_until_complete(main(app)) or 0)
    except KeyboardInterrupt:
        return 0
    finally:
        collector.stop()


async def open_dashboard(urls: list[str], job_id: str = "",
                         admin_tokens: dict[str, str] | None = None) -> tuple[Dashboard, MainWindow]:
    """The dashboard window watching `urls`; `job_id` is selected once the Manager lists it.

    `admin_tokens`: known tokens per URL (the Manager running in this app); others are looked up."""
    dashboard = Dashboard()
    window = MainWindow(dashboard)
    for url in urls:
        dashboard.add_manager(url, admin_token=(admin_tokens or {}).get(url, ""))
    window.show()
    if job_id:
        window.show_job(job_id)
    return dashboard, window


def run_dashboard(urls: list[str], job_id: str = "", remember: bool = True) -> int:
    """`tablao dashboard URL...`: only the dashboard, for Managers elsewhere.

    `remember`: the URLs become the list watched next time (not for a one-off `--manager --job`)."""

    async def main(_app: QApplication) -> int:
        chosen = urls or remembered_managers()
        if not chosen:
            print("tablao dashboard: give the URL of a Manager, for example "
                  "`tablao dashboard http://render-server:8080/`", file=sys.stderr)
            return 2
        if remember:
            remember_managers(chosen)
        dashboard, window = await open_dashboard(chosen, job_id)
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        await closed.wait()
        await dashboard.close()
        return 0

    return run_in_qt(main)
