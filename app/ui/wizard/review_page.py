"""Page 7: review the choices, then apply them to the running Manager (no program restart).

Apply sends the setup and the variables, then (in the desktop app) moves the Manager from the
wizard's private address to the chosen port; a port taken in the meantime is said here, and Back
leads to the network page.
"""

from __future__ import annotations

import asyncio
import html
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizardPage

from app.api.meta import SetupAssistantConfig
from app.common.ports import PortInUse
from app.ui.aio import spawn
from app.ui.wizard.context import WizardContext
from app.ui.wizard.hub_join import hub_row, join_hub
from app.ui.wizard.variables_page import variables_payload


class ReviewPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Review and apply")
        self.setSubTitle("Next applies these settings; the Manager picks them up without a restart of Tablao.")
        self.summary = QLabel()
        self.summary.setObjectName("reviewSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.status = QLabel()
        self.status.setObjectName("applyStatus")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        layout.addWidget(self.status)
        self._applying: asyncio.Task | None = None

    def initializePage(self) -> None:
        ctx = self.ctx
        rows = [("This computer", {"manager": "Manager", "worker": "Worker", "both": "Manager and Worker"}[ctx.role])]
        if ctx.role == "worker":
            rows.append(("Manager", ctx.manager_url))
        else:
            rows.append(("Shared storage", ctx.storage_path))
            rows.append(("How files travel", ctx.storage_report.get("approach_text", "")))
            rows.append(("Shaman", "on" if ctx.shaman else "off"))
            rows.append(("Blender", f"{ctx.blender.get('path') or ctx.blender.get('input', '')} "
                                    f"({ctx.blender.get('cause', '')})"))
            for name, values in ctx.variables.items():
                rows.append((f"Variable {name}", ", ".join(f"{p}: {v}" for p, v in values.items())))
            rows.append(("Scripts in .blend files", "run for jobs sent with the submit token"
                         if ctx.allow_blend_scripts else "never run (off)"))
            rows.append(("Other computers connect on", ctx.listen_given or f"port {ctx.listen_port}"))
            rows.append(("Bigger farm", hub_row(ctx.hub)))
        self.summary.setText("<table cellpadding='3'>" + "".join(
            f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(str(v))}</td></tr>" for k, v in rows) + "</table>")
        self.status.clear()

    def validatePage(self) -> bool:
        if self.ctx.applied or not self.ctx.sets_up_manager:
            return True
        if self._applying is None or self._applying.done():
            self.status.setText("Applying…")
            self._applying = spawn(self._apply())
        return False  # the wizard moves on by itself once the Manager took the settings

    async def _apply(self) -> None:
        client = self.ctx.client
        assert client is not None
        try:
            choices = SetupAssistantConfig(
                storage_location=self.ctx.storage_path, blender_executable=self.ctx.blender,
                shaman_enabled=self.ctx.shaman, allow_blend_scripts=self.ctx.allow_blend_scripts,
                submit_token=self.ctx.submit_token)
            await client.request("POST", "/api/v3/configuration/setup-assistant", choices.to_json())
            await wait_until_back(client, self.ctx.storage_path)
            await client.set_variables(variables_payload(await client.variables(), self.ctx.variables))
            await join_hub(client, self.ctx.hub)
            if self.ctx.relisten is not None:
                await self.ctx.relisten(self.ctx.listen_port)
        except PortInUse as exc:
            self.status.setText(f"<b>Could not apply:</b> {html.escape(exc.strerror or str(exc))}. Go Back to choose "
                                "another port, then press Next here again.")
            return
        except Exception as exc:  # noqa: BLE001 - the page says what went wrong; Back keeps everything
            self.status.setText(f"<b>Could not apply:</b> {html.escape(str(exc))}. Go Back to change a "
                                "setting, or press Next to try again.")
            return
        self.ctx.applied = True
        self.status.setText("Applied.")
        wizard = self.wizard()
        if hasattr(wizard, "applied"):
            wizard.applied.emit()
        wizard.next()


async def wait_until_back(client, storage_path: str, timeout_s: float = 60.0) -> None:
    """After the setup assistant the Manager restarts in place: wait until it serves the new setup."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            config = await client.request("GET", "/api/v3/configuration")
            if not config.get("isFirstRun") and _same_path(config.get("storageLocation") or "", storage_path):
                return
        except Exception:  # noqa: BLE001 - restarting: try again shortly
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("the Manager did not come back with the new settings within a minute")
        await asyncio.sleep(0.3)


def _same_path(a: str, b: str) -> bool:
    import os.path

    return bool(a) and os.path.normcase(os.path.normpath(a)) == os.path.normcase(os.path.normpath(b))
