"""Screenshots of the desktop app for README.md, taken under Xvfb with a real farm behind them.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots]

Starts Xvfb (unless DISPLAY is set), a Manager and a real worker process in a temp folder, submits
a small Blender render made with Debian's `blender`, and saves: the setup wizard's storage page, the
job table with a running job, a job's detail with its last rendered frame, and the worker list;
then Worker mode: the worker window while it renders (task, progress, live log, last frame) and the
tray menu; where Debian's `trayer` is installed, also the tray icon held by that tray host with its
menu open (clicked with `xdotool`); and the submit dialog with a scene Blender read and its
pre-flight report (a missing texture, a rig script that will not run on the farm, the output moved
to the shared storage, what the Shaman store already has); the wizard's question about scripts
inside .blend files (turned on, with its submit token), its storage page on a folder that does not
exist yet (with Create this folder), the settings page (durations in words, a line per setting)
and the dashboard's Mode menu on a computer that is Manager and Worker; the program's own behaviour: the wizard's network page with its port taken (the next free
one proposed), its last page with the test frame and where artists get the add-on, and Quit's
question while another computer renders; the wizard's "part of a bigger farm" step for an HTTPS hub.
`--only dashboard` / `--only worker` / `--only submit` / `--only wizard` / `--only hub` / `--only app`
take just those.
Look at every picture afterwards: clipped text, empty panes and overlaps are bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_xvfb() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY") or not shutil.which("Xvfb"):
        return None
    # The first free display from :97 (other Xvfb's on this machine keep theirs).
    display = next(f":{n}" for n in range(97, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = display
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    time.sleep(1.0)
    return proc


def start_trayer() -> subprocess.Popen | None:
    """A system tray host (a panel at the bottom right) on our own Xvfb, so the tray icon has a home."""
    if not shutil.which("trayer"):
        print("trayer is not installed: no picture of the icon in a tray (apt-get install trayer)")
        return None
    proc = subprocess.Popen(["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "pixel",
                             "--width", "220", "--height", "30", "--margin", "120", "--SetDockType", "true", "--tint", "0x2b2b2b",
                             "--transparent", "true", "--alpha", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc


async def shoot(out: Path, tmp: Path) -> None:
    from app.api.client import ManagerClient
    from app.ui.wizard.context import WizardContext
    from app.ui.wizard.wizard import STORAGE, SetupWizard
    from tests.ui.conftest import ManagerProcess

    manager = ManagerProcess(tmp / "manager").start()
    try:
        # The wizard's storage page, as a new user sees it.
        client = ManagerClient(manager.url)
        wizard = SetupWizard(WizardContext(client=client))
        wizard.show()
        wizard.next()
        wizard.pages[STORAGE].path.setText(str(tmp / "manager" / "shared"))
        await _until(lambda: wizard.pages[STORAGE].isComplete(), 15)
        await asyncio.sleep(0.3)
        wizard.grab().save(str(out / "wizard-storage.png"))
        wizard.close()
        await client.close()

        await shoot_dashboard(out, tmp, manager)
    finally:
        manager.stop()


async def shoot_dashboard(out: Path, tmp: Path, manager) -> None:
    """The job table, a job's detail and the worker list while render-01 renders a Blender job."""
    from app.ui.launch import open_dashboard
    from tests.e2e.farm import WorkerProcess, blender_job, make_blend

    worker = None
    try:
        blend = make_blend(tmp / "manager" / "shared" / "shot_010" / "shot_010.blend", frames=40, samples=16,
                           width=480, height=270)
        # Two tests of one name (the ID column tells them apart), by two artists.
        for n, (name, user, host) in enumerate((("lighting_test", "carol", "mac-carol"),
                                                ("lighting_test", "bob", "render-mac"),
                                                ("fx_smoke", "bob", "render-mac"))):
            manager.send("POST", "/api/v3/jobs", {
                "name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                "metadata": {"user.name": user, "user.host": host},
                "settings": {"message": name, "sleep_duration_seconds": 0, "sleep_repeats": 3 + n}})
        render = blender_job(blend, tmp / "manager" / "shared" / "out", frames="1-40", chunk_size=2,
                             name="shot_010 final")
        render["metadata"] = {"user.name": "alice", "user.host": "studio-pc"}
        job = manager.send("POST", "/api/v3/jobs", render)
        worker = WorkerProcess(manager.url, tmp, "render-01").start()
        dashboard, window = await open_dashboard([manager.url])
        window.resize(1560, 940)
        await _until(lambda: _job_status(manager, job["id"]) == "active", 120)
        await _until(lambda: manager.get(f"/api/v3/jobs/{job['id']}/last-rendered") is not None, 180)
        await _until(lambda: manager.get(f"/api/v3/jobs/{job['id']}")["steps_completed"] >= 6, 240)
        window.jobs_view.select_job(job["id"])
        await _until(lambda: window.detail.tasks.rowCount() > 0, 30)
        await _until(lambda: bool(window.detail.output_folder), 30)
        active = next((r for r in range(window.detail.task_proxy.rowCount())
                       if window.detail.task_proxy.index(r, 1).data() == "active"), 0)
        window.detail.task_table.selectRow(active)  # its log follows live in the tail
        await asyncio.sleep(3.0)
        window.grab().save(str(out / "dashboard-jobs.png"))
        window.detail.grab().save(str(out / "job-detail.png"))
        window.tabs.setCurrentIndex(1)
        from app.ui.models.columns import column_of

        frame = column_of(dashboard.workers, "Frame")  # at a moment the row shows the frame it renders
        await _until(lambda: (window.workers_view.proxy.index(0, frame).data() or "").startswith("frame"), 60)
        await asyncio.sleep(0.5)
        window.grab().save(str(out / "workers.png"))
        window.close()
        await dashboard.close()
    finally:
        if worker is not None:
            worker.stop()


async def shoot_worker(out: Path, tmp: Path) -> None:
    """Worker mode while this computer renders a small Blender job, and the tray menu."""
    import yaml
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QMenu

    from app.common.roles import RoleConfig
    from app.ui.local_services import LocalServices
    from app.ui.windows.worker_mode import QUIT_NOW, WorkerModeWindow
    from tests.e2e.farm import blender_job, make_blend
    from tests.ui.conftest import ManagerProcess

    manager = ManagerProcess(tmp / "wm-manager").start()
    cfg = tmp / "wm-worker" / "tablao-worker.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(yaml.safe_dump({"worker_name": "artist-pc", "data_dir": str(cfg.parent)}))
    services = LocalServices(manager_config_path=tmp / "unused.yaml", worker_config_path=cfg)
    window = None
    try:
        shared = tmp / "wm-manager" / "shared"
        blend = make_blend(shared / "shot_020" / "shot_020.blend", frames=12, samples=24, width=480, height=270)
        services.start_worker(manager.url)
        window = WorkerModeWindow(services, RoleConfig("worker", manager.url, "discovery"), has_tray=False)
        window.show()
        manager.send("POST", "/api/v3/jobs", blender_job(blend, shared / "out", frames="1-12", chunk_size=4,
                                                         name="shot_020 lighting"))
        await _until(lambda: window.controller.state.kind == "rendering", 120)
        window.editor.set_schedule({"is_active": True, "days_of_week": "mo tu we th fr",
                                    "start_time": "09:00", "end_time": "18:30"})
        await _until(lambda: window.frame.pixmap() is not None and not window.frame.pixmap().isNull(), 240)
        await _until(lambda: window.controller.state.kind == "rendering", 120)
        await asyncio.sleep(1.5)
        window.grab().save(str(out / "worker-window.png"))
        menu = window.worker_actions.fill(QMenu())
        menu.popup(QPoint(200, 200))
        await asyncio.sleep(0.5)
        menu.grab().save(str(out / "tray-menu.png"))
        menu.close()
        _icon_strip().save(str(out / "tray-icons.png"))
        await _tray_in_host(window, out / "tray-in-host.png")
    finally:
        if window is not None:
            await window.ask_quit(QUIT_NOW)
        await services.stop()
        manager.stop()


async def _tray_in_host(window, path: Path) -> None:
    """The tray icon embedded in a real tray host, its menu opened by a real right-click."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QSystemTrayIcon

    from app.ui.tray import WorkerTray

    if not QSystemTrayIcon.isSystemTrayAvailable():
        print("no system tray on this display: no picture of the icon in a tray")
        return
    tray = WorkerTray(window.controller, window.worker_actions)
    tray.show()
    try:
        # Embedded: the host moved the icon off the screen's top-left corner into its panel.
        await _until(lambda: not tray.icon.geometry().isEmpty() and tray.icon.geometry().topLeft().y() > 0, 15)
        await asyncio.sleep(0.5)
        icon = tray.icon.geometry()   # clicked at its top edge, so the menu opens above, not over it
        subprocess.run(["xdotool", "mousemove", str(icon.center().x()), str(icon.top()), "click", "3"], check=True)
        await _until(lambda: tray.menu.isVisible(), 10)
        await asyncio.sleep(0.8)
        screen = QGuiApplication.primaryScreen().geometry()
        area = tray.icon.geometry().united(tray.menu.geometry()).adjusted(-40, -30, 160, 40) & screen
        area = QRect(area)
        QGuiApplication.primaryScreen().grabWindow(0, area.x(), area.y(), area.width(), area.height()).save(str(path))
        tray.menu.close()
    finally:
        tray.hide()


async def shoot_wizard(out: Path, tmp: Path) -> None:
    """The wizard's page about scripts inside .blend files, turned on; its storage page on a folder
    that does not exist yet; the settings page; the Mode menu."""
    from PySide6.QtCore import QPoint

    from app.api.client import ManagerClient
    from app.ui.launch import open_dashboard
    from app.ui.mode import BOTH, WORKER, ModeModel
    from app.ui.wizard.context import WizardContext
    from app.ui.wizard.wizard import SCRIPTS, STORAGE, SetupWizard
    from tests.ui.conftest import ManagerProcess

    manager = ManagerProcess(tmp / "wz-manager").start()
    try:
        client = ManagerClient(manager.url, admin_token=manager.admin_token)
        wizard = SetupWizard(WizardContext(client=client))
        wizard.setStartId(SCRIPTS)
        wizard.show()
        wizard.pages[SCRIPTS].on.setChecked(True)
        await asyncio.sleep(0.5)
        wizard.grab().save(str(out / "wizard-scripts.png"))
        wizard.close()

        wizard = SetupWizard(WizardContext(client=client))
        wizard.setStartId(STORAGE)
        wizard.show()
        page = wizard.pages[STORAGE]
        page.path.setText(str(tmp / "wz-manager" / "render-storage"))
        await _until(page.create_button.isVisible, 15)
        await asyncio.sleep(0.3)
        wizard.grab().save(str(out / "wizard-storage-create.png"))
        wizard.close()
        await client.close()

        modes = ModeModel()
        modes.set_mode(BOTH, {WORKER: "This computer runs the farm's Manager, which other computers use"})
        dashboard, window = await open_dashboard([manager.url], admin_tokens=manager.admin_tokens, modes=modes)
        window.resize(1400, 900)
        view = window.settings_view
        window.tabs.setCurrentWidget(view)
        await _until(lambda: bool(view.raw), 30)
        view.scripts.setChecked(True)
        view.new_token.click()
        await asyncio.sleep(1.0)
        window.grab().save(str(out / "settings.png"))
        menu = window.mode_menu.menu
        menu.popup(window.mapToGlobal(QPoint(300, 30)))
        await asyncio.sleep(0.5)
        menu.grab().save(str(out / "mode-menu.png"))
        menu.close()
        window.close()
        await dashboard.close()
    finally:
        manager.stop()


async def shoot_hub(out: Path, tmp: Path) -> None:
    """The wizard's "part of a bigger farm" step, filled in for an HTTPS hub, its certificate's
    fingerprint shown and confirmed."""
    from app.api.client import ManagerClient
    from app.hub.tls import make_certificate
    from app.manager.settings.config import save_config
    from app.ui.wizard.context import WizardContext
    from app.ui.wizard.wizard import HUB, SetupWizard
    from tests.e2e.farm import free_port
    from tests.hub.conftest import RunningHub
    from tests.ui.conftest import ManagerProcess

    hub = RunningHub(tmp / "hub", free_port(), sites=("paris",))
    make_certificate(tmp / "hub", ["127.0.0.1", "localhost"])
    hub.config.manager.extra["tls"] = {"cert": "hub-cert.pem", "key": "hub-key.pem"}
    save_config(hub.config.manager)
    await hub.start()
    manager = ManagerProcess(tmp / "hub-site").start()
    try:
        token = await hub.hub.sites.add("paris")
        client = ManagerClient(manager.url, admin_token=manager.admin_token)
        wizard = SetupWizard(WizardContext(client=client))
        wizard.setStartId(HUB)
        wizard.show()
        page = wizard.pages[HUB]
        page.joins.setChecked(True)
        page.fields["hub_url"].setText(hub.url + "/")
        page.fields["hub_site"].setText("paris")
        page.fields["hub_token"].setText(token)
        await _until(lambda: bool(page.fingerprint), 15)
        page.matches.setChecked(True)
        await asyncio.sleep(0.5)
        wizard.grab().save(str(out / "wizard-hub.png"))
        wizard.close()
        await client.close()
    finally:
        manager.stop()
        await hub.stop()


async def shoot_app(out: Path, tmp: Path) -> None:
    """The wizard's network page (its port taken), its last page, and Quit's question, on a real farm."""
    import socket

    from app.api.client import ManagerClient
    from app.ui.quitting import Activity, QuitQuestion
    from app.ui.wizard.context import WizardContext
    from app.ui.wizard.wizard import NETWORK, TEST, SetupWizard
    from tests.e2e.farm import WorkerProcess
    from tests.ui.conftest import ManagerProcess

    manager = ManagerProcess(tmp / "app-manager").start()
    worker = WorkerProcess(manager.url, tmp, "render-01").start()
    held = socket.socket()  # another program on the port the wizard wants
    try:
        try:
            held.bind(("0.0.0.0", 8080))
        except OSError:
            held.bind(("0.0.0.0", 0))
        held.listen()
        client = ManagerClient(manager.url, admin_token=manager.admin_token)
        ctx = WizardContext(client=client, listen_port=held.getsockname()[1], role="manager",
                            storage_path=str(tmp / "app-manager" / "shared"),
                            blender={"source": "default", "input": "blender", "path": "blender",
                                     "cause": "default"})
        wizard = SetupWizard(ctx)
        wizard.setStartId(NETWORK)
        wizard.show()
        await _until(lambda: wizard.pages[NETWORK].isComplete(), 15)
        await asyncio.sleep(0.3)
        wizard.grab().save(str(out / "wizard-network.png"))
        wizard.close()

        ctx.public_url = manager.url + "/"
        wizard = SetupWizard(ctx)
        wizard.setStartId(TEST)
        wizard.show()
        await _until(lambda: wizard.pages[TEST].frame_shown or wizard.pages[TEST].retry.isVisible(), 300)
        await asyncio.sleep(0.5)
        wizard.grab().save(str(out / "wizard-done.png"))
        wizard.close()
        await client.close()

        job = manager.submit_echo("shot_030 comp", repeats=6)
        await _until(lambda: _job_status(manager, job["id"]) == "active", 60)
        workers = manager.get("/api/v3/worker-mgt/workers")["workers"]
        signed_on = tuple(w["name"] for w in workers if w["status"] != "offline")
        activity = Activity(workers=signed_on, jobs=1, tasks=1)
        question = QuitQuestion(activity, has_tray=True, has_manager=True)
        question.show()
        await asyncio.sleep(0.5)
        question.grab().save(str(out / "quit-question.png"))
        question.close()
    finally:
        held.close()
        worker.stop()
        manager.stop()


RIG_SCRIPT = """
import bpy
text = bpy.data.texts.new('rig_ui.py')
text.write('print("rig controls")')
text.use_module = True
fcurve = bpy.data.objects['Cube'].driver_add('rotation_euler', 2)
fcurve.driver.type = 'SCRIPTED'
fcurve.driver.expression = 'bpy.context.scene.frame_current / 24'
fcurve.driver.use_self = False
bpy.ops.wm.save_mainfile()
"""


async def shoot_submit(out: Path, tmp: Path) -> None:
    """The submit dialog on a textured scene with a rig script and a Python driver that was submitted
    once (so Shaman has the .blend) and whose texture went missing since."""
    from app.submit import SubmitRequest, submit_blend
    from app.ui.launch import open_dashboard
    from tests.submit.conftest import make_textured_blend
    from tests.ui.conftest import ManagerProcess

    manager = ManagerProcess(tmp / "sd-manager").start()
    try:
        project = tmp / "artist" / "film"
        blend = make_textured_blend(project / "shots" / "shot_030.blend", project / "tex" / "wood.png",
                                    "//render/", start=1, end=120)
        subprocess.run(["blender", "-b", str(blend), "--python-expr", RIG_SCRIPT], capture_output=True,
                       timeout=120, check=True)
        await submit_blend(SubmitRequest(blend, manager.url, name="shot_030 layout"))
        (project / "tex" / "wood.png").unlink()
        dashboard, window = await open_dashboard([manager.url])
        window.resize(1400, 900)
        dialog = window.open_submit_dialog(blend)
        dialog.name.setText("shot_030 lighting")
        await _until(lambda: dialog.form is not None, 30)
        dialog.form.fields["chunk_size"].editor.setValue(10)
        output = dialog.form.fields["render_output_path"].editor
        await _until(lambda: dialog.report is not None and "lighting" in output.text(), 120)
        await asyncio.sleep(1.0)
        dialog.grab().save(str(out / "submit-dialog.png"))
        dialog.close()
        window.close()
        await dashboard.close()
    finally:
        manager.stop()


def _icon_strip():
    """Every tray state's icon with its name, as drawn in code."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QPainter, QPixmap

    from app.ui import tray_icons
    from app.ui import tray_state as ts

    kinds = (ts.IDLE, ts.RENDERING, ts.ASLEEP, ts.UNREACHABLE, ts.ERROR)
    strip = QPixmap(110 * len(kinds), 100)
    strip.fill(QColor("white"))
    p = QPainter(strip)
    for i, kind in enumerate(kinds):
        p.drawPixmap(110 * i + 23, 6, tray_icons.draw(kind, 0.6 if kind == ts.RENDERING else None))
        p.drawText(QRect(110 * i, 74, 110, 22), Qt.AlignmentFlag.AlignCenter, ts.KIND_WORDS[kind])
    p.end()
    return strip


def _job_status(manager, job_id: str) -> str:
    return manager.get(f"/api/v3/jobs/{job_id}")["status"]


async def _until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out while preparing the screenshot")
        await asyncio.sleep(0.2)


async def _dashboard_only(out: Path, tmp: Path) -> None:
    from tests.ui.conftest import ManagerProcess

    manager = ManagerProcess(tmp / "manager").start()
    try:
        await shoot_dashboard(out, tmp, manager)
    finally:
        manager.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", choices=("all", "dashboard", "worker", "submit", "wizard", "hub", "app"),
                        default="all")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    trayer = start_trayer() if xvfb is not None else None
    try:
        from app.ui.launch import run_in_qt

        with tempfile.TemporaryDirectory() as tmp:
            os.environ["TABLAO_HOME"] = str(Path(tmp) / "home")

            async def run(_app) -> int:
                # The pictures never depend on what this account's dashboard saved (widths, sorts).
                from PySide6.QtCore import QSettings

                QSettings.setDefaultFormat(QSettings.Format.IniFormat)
                QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                  str(Path(tmp) / "qsettings"))
                if args.only == "all":
                    await shoot(args.out, Path(tmp))
                if args.only == "dashboard":
                    await _dashboard_only(args.out, Path(tmp))
                if args.only in ("all", "submit"):
                    await shoot_submit(args.out, Path(tmp))
                if args.only in ("all", "wizard"):
                    await shoot_wizard(args.out, Path(tmp))
                if args.only in ("all", "hub"):
                    await shoot_hub(args.out, Path(tmp))
                if args.only in ("all", "app"):
                    await shoot_app(args.out, Path(tmp))
                if args.only in ("all", "worker"):
                    await shoot_worker(args.out, Path(tmp))
                return 0

            run_in_qt(run)
        for png in sorted(args.out.glob("*.png")):
            print(png)
    finally:
        if trayer is not None:
            trayer.terminate()
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    main()
    os._exit(0)
