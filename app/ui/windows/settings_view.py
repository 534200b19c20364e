"""The Manager's settings page: load, check, save; the storage folder checked live as in the wizard.

It edits the configuration through `GET`/`PUT /configuration/file` (admin operations), so the same
page works for the local Manager and a remote one. Timeouts and thresholds apply at once; the
Manager restarts itself in place for the listen address, the database and the storage. The setup
wizard's question about scripts inside .blend files is here too: the switch and the submit token
(made, copied or cleared here), both applied at once.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.manager.config import check_submit_token
from app.ui.aio import spawn
from app.ui.dashboard import Dashboard
from app.ui.errors import show_error
from app.ui.wizard.scripts_page import new_submit_token
from app.ui.wizard.storage_page import describe_report

DURATION_HINT = "like 10m0s, 1h30m0s or 45s"


def _duration_ok(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"(\d+h)?(\d+m)?(\d+(\.\d+)?s)?", text.strip())) and bool(text.strip())


class SettingsView(QWidget):
    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.raw: dict[str, Any] = {}
        self.manager = QComboBox()
        self.manager.currentIndexChanged.connect(lambda *_: self.load())
        self.name = QLineEdit()
        self.listen = QLineEdit()
        self.storage = QLineEdit()
        self.storage.setObjectName("settingsStorage")
        self.storage_result = QLabel()
        self.storage_result.setObjectName("settingsStorageResult")
        self.storage_result.setWordWrap(True)
        self.storage_result.setTextFormat(Qt.TextFormat.RichText)
        self.shaman = QCheckBox("Shaman: upload only new files, link the rest")
        self.task_timeout = QLineEdit()
        self.worker_timeout = QLineEdit()
        self.blocklist = QSpinBox(minimum=1, maximum=1000)
        self.softfails = QSpinBox(minimum=1, maximum=1000)
        self.trust_local = QCheckBox("Requests from this Manager's own computer may administer it")
        self.scripts = QCheckBox("Run the scripts stored in .blend files (rig controls, Python drivers), "
                                 "only for jobs sent with a token")
        self.scripts.setObjectName("settingsScripts")
        self.scripts.setToolTip("Off, every render ignores them. On, anyone holding the submit token (or the "
                                "access or admin token) can run any program on every render node.")
        self.submit_token = QLineEdit(placeholderText="none: only the access or admin token counts")
        self.submit_token.setObjectName("settingsSubmitToken")
        self.submit_token.setToolTip("Artists put it in the add-on's preferences (Access or Submit Token), "
                                     "the Submit dialog or `tablao submit --token`")
        self.new_token, self.copy_token = QPushButton("New"), QPushButton("Copy")
        self.new_token.setToolTip("Make a new token; the old one stops counting once saved")
        self.new_token.clicked.connect(lambda: self.submit_token.setText(new_submit_token()))
        self.copy_token.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.submit_token.text()))
        token_row = QHBoxLayout()
        token_row.addWidget(self.submit_token, 1)
        token_row.addWidget(self.new_token)
        token_row.addWidget(self.copy_token)
        form = QFormLayout()
        form.addRow("Manager name:", self.name)
        form.addRow("Listen on (host:port):", self.listen)
        form.addRow("Shared storage:", self.storage)
        form.addRow("", self.storage_result)
        form.addRow("", self.shaman)
        form.addRow(f"Task timeout ({DURATION_HINT}):", self.task_timeout)
        form.addRow("Worker timeout:", self.worker_timeout)
        form.addRow("Blocklist a worker after this many failures of a job:", self.blocklist)
        form.addRow("Fail a task after this many soft failures:", self.softfails)
        form.addRow("", self.trust_local)
        form.addRow("Scripts in .blend files:", self.scripts)
        form.addRow("Submit token:", token_row)
        self.status = QLabel()
        self.status.setObjectName("settingsStatus")
        self.status.setWordWrap(True)
        save, reload = QPushButton("Save"), QPushButton("Reload")
        save.clicked.connect(self.save)
        reload.clicked.connect(self.load)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(reload)
        buttons.addWidget(save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.manager)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self._timer = QTimer(self, singleShot=True, interval=400)
        self._timer.timeout.connect(self._check_storage)
        self.storage.textEdited.connect(lambda *_: self._timer.start())
        self.shaman.toggled.connect(lambda *_: self._timer.start())
        dashboard.managers_changed.connect(self._managers_changed)
        self._managers_changed()

    def _managers_changed(self) -> None:
        urls = list(self.dashboard.connections)
        self.manager.blockSignals(True)
        self.manager.clear()
        self.manager.addItems(urls)
        self.manager.blockSignals(False)
        self.manager.setVisible(len(urls) > 1)

    def _client(self):
        conn = self.dashboard.connections.get(self.manager.currentText())
        return conn.client if conn else None

    @asyncSlot()
    async def load(self) -> None:
        client = self._client()
        if client is None:
            return
        try:
            self.raw = await client.request("GET", "/api/v3/configuration/file")
        except Exception as exc:  # noqa: BLE001 - said where the user looks
            self.status.setText(f"Could not load the settings: {exc}")
            return
        raw = self.raw
        self.name.setText(str(raw.get("manager_name", "")))
        self.listen.setText(str(raw.get("listen", "")))
        self.storage.setText(str(raw.get("shared_storage_path", "")))
        self.shaman.setChecked(bool((raw.get("shaman") or {}).get("enabled")))
        self.task_timeout.setText(str(raw.get("task_timeout", "")))
        self.worker_timeout.setText(str(raw.get("worker_timeout", "")))
        self.blocklist.setValue(int(raw.get("blocklist_threshold", 3)))
        self.softfails.setValue(int(raw.get("task_fail_after_softfail_count", 3)))
        self.trust_local.setChecked(bool(raw.get("trust_local_requests", False)))
        self.scripts.setChecked(bool(raw.get("allow_blend_scripts", False)))
        self.submit_token.setText(str(raw.get("submit_token") or ""))
        self.status.setText("")
        self._check_storage()

    def _check_storage(self) -> None:
        client = self._client()
        path = self.storage.text().strip()
        if client is None or not path:
            self.storage_result.setText("")
            return
        spawn(self._run_check(client, path))

    async def _run_check(self, client, path: str) -> None:
        try:
            report = await client.request("POST", "/api/v3/tablao/storage-check",
                                          {"path": path, "shaman_enabled": self.shaman.isChecked()})
        except Exception as exc:  # noqa: BLE001
            self.storage_result.setText(html.escape(f"Could not check the folder: {exc}"))
            return
        if path == self.storage.text().strip():
            self.storage_result.setText(describe_report(report))

    def problems(self) -> list[str]:
        out = []
        for label, edit in (("task timeout", self.task_timeout), ("worker timeout", self.worker_timeout)):
            if not _duration_ok(edit.text()):
                out.append(f"the {label} must be a duration {DURATION_HINT}")
        if ":" not in self.listen.text():
            out.append("listen needs a port, like :8080 or 0.0.0.0:8080")
        try:
            check_submit_token(self.submit_token.text())
        except ValueError as exc:
            out.append(str(exc).replace("the setup assistant makes one", "press New for one"))
        return out

    @asyncSlot()
    async def save(self) -> None:
        client = self._client()
        problems = self.problems()
        if problems:
            show_error(self, "Settings not saved", "; ".join(problems))
            return
        if client is None or not self.raw:
            return
        new = dict(self.raw)
        new.update({
            "manager_name": self.name.text().strip(), "listen": self.listen.text().strip(),
            "shared_storage_path": self.storage.text().strip(),
            "task_timeout": self.task_timeout.text().strip(), "worker_timeout": self.worker_timeout.text().strip(),
            "blocklist_threshold": self.blocklist.value(),
            "task_fail_after_softfail_count": self.softfails.value(),
            "trust_local_requests": self.trust_local.isChecked(),
            "allow_blend_scripts": self.scripts.isChecked(),
            "submit_token": self.submit_token.text().strip(),
        })
        new["shaman"] = {**(self.raw.get("shaman") or {}), "enabled": self.shaman.isChecked()}
        try:
            await client.request("PUT", "/api/v3/configuration/file", new)
        except Exception as exc:  # noqa: BLE001 - the Manager's own words
            show_error(self, "The Manager refused the settings", exc)
            return
        self.raw = new
        self.status.setText("Saved. Timeouts and thresholds apply now; the Manager restarts itself for the "
                            "rest.")
