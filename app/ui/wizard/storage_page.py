"""Page 2: where the farm's files live, explained with the three storage approaches, with live checks.

The chosen folder is checked by the Manager (it is the Manager's view of the folder that counts)
a moment after the user stops typing; every failed check comes with what to do next. The check
never goes stale: it runs again when Browse's dialog closes (a folder made there with New Folder,
even when the same path comes back), when the wizard's window is activated again (a folder made in
a file manager), and every few seconds while the page shows. A folder that does not exist gets a
"Create this folder" button: the folder is made off the UI thread, then checked. (The wizard sets
up the Manager of this computer, so a folder made here is the one the Manager sees.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from app.ui.aio import spawn
from app.ui.wizard.context import WizardContext

#: How often the folder is checked again while the page shows (it may be made or mounted meanwhile).
RECHECK_MS = 3000

APPROACHES = """
<p>Workers need the .blend file and everything it uses. Tablao can get them there in three ways;
each is <b>simple</b>, <b>efficient</b> or <b>isolated</b>, and you get to pick two.</p>
<table cellspacing="0" cellpadding="4" border="1" style="border-collapse: collapse;">
<tr><th></th><th>Simple</th><th>Efficient</th><th>Isolated</th></tr>
<tr><td>Work directly on the shared storage</td><td>✔</td><td>✔</td><td>✘ a later save changes a running job</td></tr>
<tr><td>A copy of the files per job</td><td>✔</td><td>✘ every job copies everything</td><td>✔</td></tr>
<tr><td>Shaman: upload only new files, link the rest</td><td>✘ needs links on the storage</td><td>✔</td><td>✔</td></tr>
</table>
<p>Pick a folder every computer of the farm can reach (an NFS or SMB share, or a local folder when
this computer is the whole farm).</p>
"""

NEXT_STEPS = {
    "symlink": "Symbolic links are refused here: Shaman will use hard links instead. On a Samba share, "
               "enable 'follow symlinks' and 'wide links' to get symbolic links.",
    "hardlink": "Hard links are refused too: Shaman will copy files into each job (slower, still isolated).",
}


def _size(n: float | None) -> str:
    if not n:
        return "unknown"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def describe_report(report: dict[str, Any]) -> str:
    """The check's findings as lines of HTML, each failed check with a next step."""
    if not report:
        return ""
    ok, bad = "✔", "✘"
    if not report.get("is_usable"):
        return f"<p><b>{bad} This folder cannot be used:</b> {report.get('cause', '')}</p>"
    lines = [
        f"{ok} exists and is writable",
        f"{ok} free space: {_size(report.get('free_bytes'))} of {_size(report.get('total_bytes'))}",
        (f"{ok} symbolic links work" if report.get("can_symlink")
         else f"{bad} symbolic links: {NEXT_STEPS['symlink']}"),
        (f"{ok} hard links work" if report.get("can_hardlink") else f"{bad} hard links: {NEXT_STEPS['hardlink']}"),
    ]
    if report.get("approach_text"):
        lines.append(f"<b>What happens:</b> {report['approach_text']}")
    lines += [f"⚠ {w}" for w in report.get("warnings") or []]
    return "<br>".join(lines)


class StoragePage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Where do the farm's files live?")
        self.setSubTitle("The folder is checked by the Manager as you type, and again while this page shows.")
        intro = QLabel(APPROACHES)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.path = QLineEdit(placeholderText="/mnt/render or \\\\server\\render")
        self.path.setObjectName("storagePath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.shaman = QCheckBox("Use Shaman (upload only new files; needs the Tablao or Flamenco add-on)")
        self.result = QLabel()
        self.result.setObjectName("storageResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setMinimumHeight(90)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.create_button = QPushButton("Create this folder")
        self.create_button.setObjectName("createFolder")
        self.create_button.setToolTip("Make the folder (and the folders above it that are missing), then check it")
        self.create_button.clicked.connect(lambda: spawn(self._create()))
        self.create_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        result_row = QHBoxLayout()
        result_row.addWidget(self.result, 1)
        result_row.addWidget(self.create_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.shaman)
        layout.addLayout(result_row, 1)
        self.report: dict[str, Any] = {}
        self._checking: asyncio.Task | None = None
        self._timer = QTimer(self, singleShot=True, interval=400)
        self._timer.timeout.connect(self._start_check)
        self.recheck_timer = QTimer(self, interval=RECHECK_MS)
        self.recheck_timer.timeout.connect(self.recheck)
        self.path.textChanged.connect(self._changed)
        self.shaman.toggled.connect(self._changed)

    def initializePage(self) -> None:
        if not self.path.text() and self.ctx.storage_path:
            self.path.setText(self.ctx.storage_path)
        self.shaman.setChecked(self.ctx.shaman)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Shared storage folder", self.path.text())
        if folder and os.path.normpath(folder) != os.path.normpath(self.path.text().strip() or "."):
            self.path.setText(folder)
        else:  # the same folder, or cancelled: it may have been made in the dialog (New Folder)
            self.recheck()

    # --- checking ----------------------------------------------------------------------------------
    def _changed(self) -> None:
        self.report = {}
        self.create_button.hide()
        self.result.setText("Checking…" if self.path.text().strip() else "")
        self.completeChanged.emit()
        self._timer.start()

    def _start_check(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
        path = self.path.text().strip()
        if path and self.ctx.client is not None:
            self._checking = spawn(self._check(path, self.shaman.isChecked()))

    def recheck(self) -> None:
        """Check the folder again as it is now (no edit needed); one check at a time."""
        if self._timer.isActive() or (self._checking is not None and not self._checking.done()):
            return  # a check of the newest text is on its way
        self._start_check()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.recheck_timer.start()

    def hideEvent(self, event) -> None:
        self.recheck_timer.stop()
        super().hideEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.WindowActivate and self.isVisible():
            self.recheck()  # back from a file manager, where the folder may have been made
        return super().event(event)

    async def _check(self, path: str, shaman: bool) -> None:
        assert self.ctx.client is not None
        try:
            report = await self.ctx.client.request("POST", "/api/v3/tablao/storage-check",
                                                   {"path": path, "shaman_enabled": shaman})
            missing = not report.get("is_usable") and await asyncio.to_thread(_missing_folder, path)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - shown on the page, where the user acted
            self.result.setText(f"<b>Could not check the folder:</b> {exc}. Check that the Manager runs; the "
                                "check runs again in a few seconds.")
            return
        if path != self.path.text().strip() or shaman != self.shaman.isChecked():
            return
        self.create_button.setVisible(missing)
        if report == self.report:
            return  # checked again, nothing changed: no flicker, no signal
        self.report = report
        self.result.setText(describe_report(report))
        self.completeChanged.emit()

    async def _create(self) -> None:
        """Make the folder the path names (off the UI thread), then check it."""
        path = self.path.text().strip()
        self.create_button.setEnabled(False)
        try:
            await asyncio.to_thread(os.makedirs, os.path.expanduser(path), exist_ok=True)
        except OSError as exc:
            self.result.setText(f"<b>Could not create {path}:</b> {exc.strerror or exc}. Choose another folder, "
                                "or create it as a user who may.")
            return
        finally:
            self.create_button.setEnabled(True)
        self._timer.stop()
        self._start_check()

    def isComplete(self) -> bool:
        return bool(self.report.get("is_usable"))

    def validatePage(self) -> bool:
        self.ctx.storage_path = self.path.text().strip()
        self.ctx.storage_report = self.report
        self.ctx.shaman = self.shaman.isChecked()
        return True

    def cleanupPage(self) -> None:  # Back keeps what was typed: nothing to reset
        with contextlib.suppress(Exception):
            self._timer.stop()


def _missing_folder(path: str) -> bool:
    """Whether `path` names an absolute folder that does not exist (yet) on this computer."""
    full = os.path.expanduser(path)
    return os.path.isabs(full) and not os.path.lexists(full)
