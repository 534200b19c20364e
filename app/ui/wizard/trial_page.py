"""Page 8: a one-frame test render of a scene made on the spot, with the frame shown here.

For a Manager it also says where artists get the Blender add-on: from the Manager's address
(`/tablao-addon.zip`, its address filled in) or the dashboard's Help ▸ Get the Blender add-on….
"""

from __future__ import annotations

import asyncio
import html
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWizardPage

from app.common.paths import current_platform
from app.common.trial_render import make_test_render_job, make_test_scene
from app.ui.aio import spawn
from app.ui.wizard.context import WizardContext

RENDER_TIMEOUT_S = 600.0


class TrialRenderPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Test render")
        self.setSubTitle("One frame of a scene made just now, rendered by the farm.")
        self.status = QLabel()
        self.status.setObjectName("testStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.image = QLabel()
        self.image.setObjectName("testFrame")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 180)
        self.retry = QPushButton("Try again")
        self.retry.clicked.connect(self._start)
        self.retry.hide()
        self.addon = QLabel()
        self.addon.setObjectName("addonWhere")
        self.addon.setWordWrap(True)
        self.addon.setTextFormat(Qt.TextFormat.RichText)
        self.addon.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.addon.setOpenExternalLinks(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.retry, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.addon)
        self.frame_shown = False
        self._task: asyncio.Task | None = None

    def initializePage(self) -> None:
        if self.ctx.sets_up_manager:
            zip_url = html.escape(addon_url(self.ctx.manager_address))
            self.addon.setText(f"<b>The Blender add-on for artists:</b> <a href='{zip_url}'>{zip_url}</a> "
                               "(this Manager's address filled in; install it in Blender from Preferences ▸ "
                               "Add-ons). The dashboard saves it too (Help ▸ Get the Blender add-on…).")
            self.addon.show()
            self._start()
        else:
            self.addon.hide()
            self.status.setText(f"This computer will render for {html.escape(self.ctx.manager_url)}. "
                                "Press Finish to start the worker.")

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self.retry.hide()
            self._task = spawn(self._run())

    async def _run(self) -> None:
        try:
            await self._render()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - said on the page, with a way to try again
            self.progress.hide()
            self.status.setText(f"<b>The test render did not work:</b> {html.escape(str(exc))}")
            self.retry.show()

    async def _render(self) -> None:
        client = self.ctx.client
        assert client is not None
        self.status.setText("Waiting for a worker…")
        self.progress.show()
        worker = await self._wait_for_worker()
        if worker is None:
            self.progress.hide()
            self.status.setText(
                "No worker is connected yet, so there is nothing to render the test frame. Start one on a "
                "render node with <code>tablao worker --manager "
                f"{html.escape(self.ctx.manager_address)}</code> "
                "(or choose 'Manager and Worker' to render on this computer), then press Try again. "
                "You can also press Finish now and render later.")
            self.retry.show()
            return
        self.status.setText(f"Making a test scene with Blender; {html.escape(worker)} will render it…")
        folder = Path(self.ctx.storage_path) / "tablao-test-render"
        blender = self.ctx.blender.get("path") or self.ctx.blender.get("input") or "blender"
        blend = await make_test_scene(blender, folder / "test-scene.blend")
        job = await client.submit_job(make_test_render_job(blend, folder, current_platform()))
        self.status.setText("Rendering one frame…")
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while True:
            state = await client.job(job.id)
            if state.status == "completed":
                break
            if state.status in ("failed", "canceled"):
                raise RuntimeError(f"the test job {state.status}: {state.activity}")
            if time.monotonic() > deadline:
                raise RuntimeError("the frame took more than ten minutes; is the worker busy?")
            await asyncio.sleep(0.5)
        await self._show_frame(job.id)

    async def _wait_for_worker(self, wait_s: float = 20.0) -> str | None:
        """The name of an awake worker, waiting a little for a local one that is still starting."""
        assert self.ctx.client is not None
        deadline = time.monotonic() + (wait_s if self.ctx.role == "both" else 2.0)
        while True:
            workers = await self.ctx.client.workers()
            awake = [w for w in workers if w.status == "awake"]
            if awake:
                return awake[0].name
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.5)

    async def _show_frame(self, job_id: str) -> None:
        client = self.ctx.client
        assert client is not None
        for _ in range(40):  # the preview is made a moment after the task completes
            data = await client.last_rendered_image(job_id)
            if data:
                pixmap = QPixmap()
                if pixmap.loadFromData(data):
                    self.image.setPixmap(pixmap)
                    self.frame_shown = True
                    self.progress.hide()
                    self.status.setText("✔ The farm works: here is the frame it rendered.")
                    self.completeChanged.emit()
                    return
            await asyncio.sleep(0.25)
        raise RuntimeError("the job completed, but its frame did not reach the Manager")



def addon_url(manager_address: str) -> str:
    return manager_address.rstrip("/") + "/tablao-addon.zip"
