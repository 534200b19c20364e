"""The Manager's settings page: load, check, save; the storage folder checked live as in the wizard.

Every setting says in one line what it does. Durations are a number and a unit ("10 minutes"),
never Go's text ("10m0s"), which stays the spelling of the configuration file only; numbers sit in
narrow fields.

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
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.common.durations import format_duration, parse_duration
from app.manager.settings.config import check_submit_token
from app.ui.aio import spawn
from app.ui.dashboard import Dashboard
from app.ui.error_dialog import show_error
from app.ui.widgets.duration_edit import DurationEdit
from app.ui.widgets.explained import explained, narrow
from app.ui.widgets.scheduler_policy_edit import SchedulerPolicyEdit
from app.ui.wizard.scripts_page import new_submit_token
from app.ui.wizard.storage_page import describe_report

#: One line per setting: what it does, in the words of someone who runs a farm.
EXPLAIN = {
    "name": "The name of this farm, as workers, the add-on and the dashboard show it.",
    "listen": "Where other computers reach this Manager: :8080 listens on every network of this computer.",
    "storage": "The folder every computer of the farm reaches; jobs' files and renders live there.",
    "task_timeout": "A task whose worker sends no news for this long goes to another worker. 0 never gives up.",
    "worker_timeout": "A worker silent for this long counts as lost; its tasks go back to the queue. "
                      "0 waits forever.",
    "blocklist": "A worker that fails this many tasks of one job gets no more tasks of that job.",
    "softfails": "A task that failed on this many workers fails for good (until you requeue it).",
    "trust_local": "Lets programs on the Manager's own computer change settings without the admin token.",
    "scripts": "Off, every render ignores them. On, anyone holding the submit token can run any program on "
               "every render node.",
    "submit_token": "Artists put it in the add-on's preferences, the Submit dialog or `tablao submit --token`.",
    "policy": "Fair share: an artist's first frames start beside another artist's long job, by submitter "
              "(job metadata) and weight.",
}


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
        self.task_timeout = DurationEdit()
        self.task_timeout.setObjectName("taskTimeout")
        self.worker_timeout = DurationEdit()
        self.worker_timeout.setObjectName("workerTimeout")
        self.blocklist = narrow(QSpinBox(minimum=1, maximum=1000, suffix=" failures"))
        self.softfails = narrow(QSpinBox(minimum=1, maximum=1000, suffix=" workers"))
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
        self.policy = SchedulerPolicyEdit()
        form = QFormLayout()
        form.addRow("Manager name:", explained(self.name, EXPLAIN["name"]))
        form.addRow("Listen on (host:port):", explained(self.listen, EXPLAIN["listen"]))
        form.addRow("Shared storage:", explained(self.storage, EXPLAIN["storage"]))
        form.addRow("", self.storage_result)
        form.addRow("", self.shaman)
        form.addRow("Task timeout:", explained(self.task_timeout, EXPLAIN["task_timeout"]))
        form.addRow("Worker timeout:", explained(self.worker_timeout, EXPLAIN["worker_timeout"]))
        form.addRow("Blocklist a worker after:", explained(self.blocklist, EXPLAIN["blocklist"]))
        form.addRow("Fail a task after it failed on:", explained(self.softfails, EXPLAIN["softfails"]))
        form.addRow("Administering:", explained(self.trust_local, EXPLAIN["trust_local"]))
        form.addRow("Scripts in .blend files:", explained(self.scripts, EXPLAIN["scripts"]))
        form.addRow("Submit token:", explained(token_row, EXPLAIN["submit_token"]))
        form.addRow("Who renders next:", explained(self.policy, EXPLAIN["policy"]))
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
        page = QWidget()
        column = QVBoxLayout(page)
        column.addLayout(form)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.manager)
        layout.addWidget(scroll, 1)
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
        self.task_timeout.set_seconds(_seconds(raw.get("task_timeout"), 600.0))
        self.worker_timeout.set_seconds(_seconds(raw.get("worker_timeout"), 60.0))
        self.blocklist.setValue(int(raw.get("blocklist_threshold", 3)))
        self.softfails.setValue(int(raw.get("task_fail_after_softfail_count", 3)))
        self.trust_local.setChecked(bool(raw.get("trust_local_requests", False)))
        self.scripts.setChecked(bool(raw.get("allow_blend_scripts", False)))
        self.submit_token.setText(str(raw.get("submit_token") or ""))
        self.policy.set_from(raw)
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
        if ":" not in self.listen.text():
            out.append("listen needs a port, like :8080 or 0.0.0.0:8080")
        try:
            check_submit_token(self.submit_token.text())
        except ValueError as exc:
            out.append(str(exc).replace("the setup assistant makes one", "press New for one"))
        return out + self.policy.problems()

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
            # The file keeps Go's spelling ("10m0s"), which Flamenco's tools read.
            "task_timeout": format_duration(self.task_timeout.seconds()),
            "worker_timeout": format_duration(self.worker_timeout.seconds()),
            "blocklist_threshold": self.blocklist.value(),
            "task_fail_after_softfail_count": self.softfails.value(),
            "trust_local_requests": self.trust_local.isChecked(),
            "allow_blend_scripts": self.scripts.isChecked(),
            "submit_token": self.submit_token.text().strip(),
            **self.policy.values(),
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


def _seconds(value: Any, default: float) -> float:
    """A duration from the configuration file (Go text or seconds); `default` when it is unreadable."""
    try:
        return parse_duration(value if value not in (None, "") else default)
    except ValueError:
        return default
