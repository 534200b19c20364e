"""Starts the desktop app: one `QApplication`, one asyncio loop (qasync) for services and UI.

`run_dashboard(urls)` watches Managers elsewhere with no local services; `run_desktop(...)` runs
the local role services (Manager, Worker or both) in the same loop and opens the dashboard of the
local Manager (app/ui/desktop.py). Either may be given a job to select at start (`--job JOB_ID`, the
Blender add-on's "Open in dashboard"). Both go through `run_program`: when this user's Tablao runs
already, the launch hands its request to it (app/ui/instance.py) and ends, before the heavy parts
of the app are even imported (this module imports them only where used). Exceptions from async
slots are logged and shown instead of vanishing.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget
from qasync import QEventLoop
from shiboken6 import Shiboken

from app.ui.gc_guard import GuiThreadCollector
from app.ui.instance import BadLaunchRequest, InstanceUnreachable, LaunchRequest

if TYPE_CHECKING:
    from app.ui.dashboard import Dashboard
    from app.ui.local_services import LocalServices
    from app.ui.mode import ModeModel
    from app.ui.windows.main_window import MainWindow

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


def make_loop(app: QApplication) -> QEventLoop:
    """The qasync loop on `app`, with plain Python threads for blocking work (to_thread,
    run_in_executor): qasync's default pool runs Python on QThreads, which PySide 6.8+ has been seen
    to crash on (PYSIDE-3165). The app and the desktop tests make their loop here alike."""
    loop = QEventLoop(app)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=8, thread_name_prefix="tablao-io"))
    return loop


def finish_pending(loop: asyncio.AbstractEventLoop, timeout: float = 5.0) -> None:
    """Cancel the tasks still pending on `loop` and let them unwind on this thread, before the loop
    closes: a task left pending is destroyed later by whichever thread frees it, with the widgets
    its coroutine holds."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending and not loop.is_closed() and not loop.is_running():
        loop.run_until_complete(asyncio.wait(pending, timeout=timeout))


def run_in_qt(main: Callable[[QApplication], Awaitable[int]]) -> int:
    """Run `main(app)` on a qasync loop until it returns; return its exit code.

    The way out is one order: tasks still pending cancelled and unwound, windows closed and deleted
    while the loop still exists, the loop
    closed (its executor joined), garbage collected on this thread, then the QApplication shut
    down before the interpreter finalizes (Qt objects freed by the interpreter's own teardown, in
    whatever order it picks, are how a quit ended in "Fatal Python error: none_dealloc")."""
    app = make_application()
    app.setQuitOnLastWindowClosed(False)  # the coroutine decides when the program ends
    loop = make_loop(app)
    asyncio.set_event_loop(loop)
    _install_excepthook(loop)
    collector = GuiThreadCollector()  # Qt objects in garbage cycles are freed on this thread only
    try:
        with loop:
            try:
                return int(loop.run_until_complete(main(app)) or 0)
            finally:
                finish_pending(loop)
                _delete_windows(app)
    except KeyboardInterrupt:
        return 0
    finally:
        asyncio.set_event_loop(None)
        collector.stop()
        app.shutdown()


def own_windows(app: QApplication) -> list[QWidget]:
    """The top-level widgets this program made. Qt keeps top-level widgets of its own that other
    objects own by plain pointers (the X11 tray icon's window, which its QSystemTrayIcon deletes):
    deleting one of those here deletes it twice, a crash on quit whenever the tray icon went after it."""
    return [w for w in app.topLevelWidgets() if Shiboken.createdByPython(w)]


def _delete_windows(app: QApplication) -> None:
    """Every top-level widget closed and deleted now, not by the interpreter at exit."""
    for widget in own_windows(app):
        widget.hide()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    app.processEvents()


async def open_dashboard(urls: list[str], job_id: str = "", admin_tokens: dict[str, str] | None = None,
                         modes: ModeModel | None = None) -> tuple[Dashboard, MainWindow]:
    """The dashboard window watching `urls`; `job_id` is selected once the Manager lists it.

    `admin_tokens`: known tokens per URL (the Manager running in this app); others are looked up.
    `modes`: the desktop app's mode of this computer, for the Mode menu (none: a dashboard only)."""
    from app.ui.dashboard import Dashboard
    from app.ui.windows.main_window import MainWindow

    dashboard = Dashboard()
    window = MainWindow(dashboard, modes=modes)
    for url in urls:
        dashboard.add_manager(url, admin_token=(admin_tokens or {}).get(url, ""))
    window.show()
    if job_id:
        window.show_job(job_id)
    return dashboard, window


def run_program(request: LaunchRequest, main: Callable[[QApplication, object], Awaitable[int]]) -> int:
    """Run `main(app, instance)` as this user's Tablao, or hand `request` to the one that runs.

    `instance` is the `InstanceServer` whose `requested` signal brings later launches' requests."""
    from app.ui import instance as single

    place = single.instance_place()
    lock = single.take_lock(place)
    if lock is None:  # another program holds it: hand over (no QApplication made for that)
        try:
            return _hand_over(request, place)
        except InstanceUnreachable:
            assert place is not None  # take_lock found the program that holds the lock there
            lock = single.take_over_if_stale(place)
            if lock is None:
                print("tablao: Tablao is running already but does not answer; close it (or end its process) "
                      "and start again", file=sys.stderr)
                return 1
    make_application()
    guard = single.serve(place, lock)

    async def main_then_release(app: QApplication) -> int:
        try:
            return await main(app, guard)
        finally:
            guard.close()  # everything stopped: the next launch may be the program

    try:
        return run_in_qt(main_then_release)
    finally:
        guard.close()


def _hand_over(request: LaunchRequest, place) -> int:
    from app.ui.instance import hand_over

    reply = hand_over(request, place)
    if not reply.get("ok"):
        why = reply.get("error", "no reason given")
        print(f"tablao: the running Tablao refused this: {why}", file=sys.stderr)
        return 2
    what = f"job {request.job}" if request.job else "its window"
    print(f"tablao: Tablao runs already (pid {reply.get('pid', '?')}); it shows {what}", file=sys.stderr)
    return 0


def dashboard_request(urls: list[str], job_id: str = "") -> LaunchRequest:
    """The request of `tablao dashboard URL...` or `tablao --manager URL --job ID`; raises
    `BadLaunchRequest` with what is wrong with a URL or the job id."""
    return LaunchRequest(open="dashboard", managers=tuple(urls), job=job_id)


def run_dashboard(urls: list[str], job_id: str = "", remember: bool = True) -> int:
    """`tablao dashboard URL...`: only the dashboard, for Managers elsewhere.

    `remember`: the URLs become the list watched next time (not for a one-off `--manager --job`)."""
    try:
        request = dashboard_request(urls, job_id)
    except BadLaunchRequest as exc:
        print(f"tablao: {exc}", file=sys.stderr)
        return 2

    async def main(_app: QApplication, instance) -> int:
        from app.ui.desktop import DesktopApp
        from app.ui.local_services import LocalServices
        from app.ui.windows.main_window import remember_managers, remembered_managers

        chosen = urls or remembered_managers()
        if not chosen:
            print("tablao dashboard: give the URL of a Manager, for example "
                  "`tablao dashboard http://render-server:8080/`", file=sys.stderr)
            return 2
        if remember:
            remember_managers(chosen)
        desktop = DesktopApp(LocalServices(), None, job_id, watch=chosen)
        instance.requested.connect(desktop.handle)
        return await desktop.run()

    return run_program(request, main)


def run_desktop(services: LocalServices | None = None, role=None,
                force_role: str | None = None, manager_url: str = "", job_id: str = "") -> int:
    """The desktop app. `force_role` comes from `tablao manager|worker|all` without --headless;
    `job_id` is selected in the dashboard when it opens. When this user's Tablao runs already, the
    launch hands its request to it instead."""

    async def main(_app: QApplication, instance) -> int:
        from app.common.roles import RoleConfig, load_role
        from app.ui.desktop import DesktopApp
        from app.ui.local_services import LocalServices

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
        desktop = DesktopApp(services or LocalServices(), chosen, job_id)
        instance.requested.connect(desktop.handle)
        return await desktop.run()

    try:
        request = LaunchRequest(job=job_id)
    except BadLaunchRequest as exc:
        print(f"tablao: {exc}", file=sys.stderr)
        return 2
    return run_program(request, main)
