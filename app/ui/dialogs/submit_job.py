"""The Submit dialog: a .blend, a job type's generated settings form, the scene, the pre-flight report.

Everything slow runs on the app's asyncio loop (qasync), never blocking the window: the job types
and tags come from the Manager through its `ManagerClient`; the farm's submit policy is asked with
the credentials the submission will carry, Blender reads the scene in the background
(`app.submit.read_scene`; an output folder the farm would refuse becomes the farm's), then
`app.submit.preflight` reports missing files, absolute paths, libraries, sequences, sizes, what a
Shaman Manager already has, the file's scripts that will not run on this farm and where the output
goes. Missing files block Submit until the artist ticks the confirmation.

Credentials: the admin token when the dashboard has one for this Manager (its own Manager's), else
the submit token the artist typed in the dialog (remembered per Manager, `submit_token_store`),
else the dashboard's access token; the first two make the job one whose scripts may run.

The output folder (`render_output_root`) typed for a job is remembered per Manager for this user
(QSettings) and offered for the next job, as if typed again. Without one, or when the farm no
longer lets jobs write there, the scene's own folder is used, else the shared storage's `renders`.

Submit runs `app.submit.prepare` and `submit_prepared` (pack along the Manager's storage approach,
then `POST /jobs`), with a progress bar per phase. Cancel stops it before the job is sent; once the
"submitting" phase starts it can no longer be cancelled, so nothing is ever half-submitted. When
the Manager accepts the job, `submitted(manager_url, job_id)` fires and the dialog closes.

Duplicate and edit (`prefill`, a job of the dashboard): the dialog opens on that job's Manager,
job type, name, priority and worker tag, its settings as the artist's values (paths spelled for
this computer through the Manager's variables), and its .blend file; the artist changes what
they want and submits a new job.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.api.client import ManagerClient, ManagerUnreachable
from app.api.jobs import AvailableJobType
from app.common.credentials import submit_token_store
from app.submit import (
    DEFAULT_JOB_TYPE,
    BlendInfo,
    JobTypeChanged,
    Prepared,
    SubmitError,
    SubmitRequest,
    looks_like_blend,
    preflight,
    prepare,
    read_scene,
    submit_prepared,
)
from app.submit.policy import fetch_policy, output_refusal
from app.submit.settings import merge_settings
from app.submit.submission import client_for, user_values
from app.ui.aio import spawn
from app.ui.dashboard import Dashboard
from app.ui.dialogs import submit_report as words
from app.ui.dialogs.after_job import AfterJobPicker
from app.ui.dialogs.blend_drop import blend_paths
from app.ui.dialogs.preview_switches import PreviewSwitches
from app.ui.dialogs.settings_form import SettingsForm, eval_inputs, set_editor_value
from app.ui.dialogs.site_picker import SitePicker, hub_sites
from app.ui.models.job_row import JobRow
from app.ui.widgets.explained import narrow

_log = logging.getLogger(__name__)

ANY_WORKER = "(any worker)"
READ_DELAY_MS = 700  # settle time after typing before Blender reads the scene again
OUTPUT_ROOT = "render_output_root"  # the job types' output folder (Flamenco's name for it)
OUTPUT_ROOTS_KEY = "submit/output_roots"  # QSettings: Manager URL → the output folder typed for its last job


def remembered_output_root(manager_url: str) -> str:
    """The output folder this user typed for the last job sent to `manager_url` ('' when none)."""
    try:
        roots = json.loads(str(QSettings().value(OUTPUT_ROOTS_KEY, "{}")))
    except ValueError:
        return ""
    value = roots.get(manager_url.rstrip("/")) if isinstance(roots, dict) else None
    return value if isinstance(value, str) else ""


def remember_output_root(manager_url: str, root: str) -> None:
    settings = QSettings()
    try:
        roots = json.loads(str(settings.value(OUTPUT_ROOTS_KEY, "{}")))
    except ValueError:
        roots = {}
    roots = roots if isinstance(roots, dict) else {}
    roots[manager_url.rstrip("/")] = root
    settings.setValue(OUTPUT_ROOTS_KEY, json.dumps(roots))


class _Relay(QObject):
    """Progress from the submission to the window; a queued signal if it ever comes from a thread."""

    progress = Signal(str, object, object)


class SubmitJobDialog(QDialog):
    submitted = Signal(str, str)  # Manager URL, job id

    def __init__(self, dashboard: Dashboard, blendfile: Path | None = None, manager_url: str = "",
                 parent: QWidget | None = None, prefill: JobRow | None = None):
        super().__init__(parent)
        self.setObjectName("submitDialog")
        self.setWindowTitle("Submit a render job")
        self.setAcceptDrops(True)
        self.dashboard = dashboard
        self.job_types: dict[str, AvailableJobType] = {}
        self.job_type: AvailableJobType | None = None
        self.form: SettingsForm | None = None
        self.blend: BlendInfo | None = None
        self.report: Any = None  # app.submit.Preflight
        self.job_id = ""
        self.offered_root = ""  # the remembered output folder in the form, until the artist edits it
        self._read_task: asyncio.Task | None = None
        self._submit_task: asyncio.Task | None = None
        self._committing = False
        self._submitting = False
        self._relay = _Relay(self)
        self._relay.progress.connect(self._show_progress)
        self._read_timer = QTimer(self, singleShot=True, interval=READ_DELAY_MS)
        self._read_timer.timeout.connect(self.read_scene)
        self._build()
        for url in dashboard.connections:
            self.manager.addItem(url, url)
        if manager_url:
            self.manager.setCurrentIndex(max(0, self.manager.findData(manager_url.rstrip("/"))))
        self.manager.setVisible(self.manager.count() > 1)
        self.manager_label.setVisible(self.manager.count() > 1)
        self.manager.currentIndexChanged.connect(lambda _i: self._manager_chosen())
        self._show_token()
        self.after.fill(self.dashboard, self.manager_url)
        if blendfile is not None:
            self.set_blendfile(blendfile)
        self.resize(1240, 700)
        self.prefilled: asyncio.Task | None = None
        if prefill:
            self.setWindowTitle(f"Duplicate and edit: {prefill.job.name}")
            self.prefilled = spawn(self._prefill(prefill))
        else:
            self.load_job_types()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.manager = QComboBox()
        self.manager_label = QLabel("Manager")
        self.path = QLineEdit(placeholderText="the .blend file to render (or drop one here)")
        self.path.setObjectName("blendPath")
        self.path.editingFinished.connect(self._path_changed)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("jobType")
        self.type_combo.currentIndexChanged.connect(self._type_chosen)
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Fetch the job types and worker tags from the Manager again")
        refresh.clicked.connect(self.load_job_types)
        type_row = QHBoxLayout()
        type_row.addWidget(self.type_combo, 1)
        type_row.addWidget(refresh)
        self.name = QLineEdit()
        self.name.setObjectName("jobName")
        self.name.textChanged.connect(lambda _t: self._read_later())  # `jobname` in the `eval`s
        self.priority = QSpinBox()
        self.priority.setRange(0, 100)
        self.priority.setValue(50)
        narrow(self.priority)
        self.tag = QComboBox()
        self.tag.setObjectName("workerTag")
        self.site = SitePicker()  # at a hub: which site renders it
        self.paused = QCheckBox("Submit paused (start it later from the dashboard)")
        self.after = AfterJobPicker()  # render only once another job completed
        self.previews = PreviewSwitches()
        self.token = QLineEdit(placeholderText="optional: the farm's submit token, from its admin")
        self.token.setObjectName("submitToken")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setToolTip("With the farm's submit token, the scripts in your .blend files (rig controls, "
                              "Python drivers) run on the farm where its admin allows them. Remembered for "
                              "this Manager once a job is accepted.")
        self.token.editingFinished.connect(lambda: self._read_later(now=True))  # the policy may change
        self.token_label = QLabel("Submit token")
        job = QFormLayout()
        job.addRow(self.manager_label, self.manager)
        job.addRow("Blend file", file_row)
        job.addRow("Job type", type_row)
        job.addRow("Job name", self.name)
        job.addRow("Priority", self.priority)
        job.addRow("Worker tag", self.tag)
        job.addRow("Site", self.site)
        job.setRowVisible(self.site, False)
        self.job_form = job
        job.addRow(self.token_label, self.token)
        job.addRow("After job", self.after)
        job.addRow("", self.previews)
        job.addRow("", self.paused)
        self.settings_box = QScrollArea()
        self.settings_box.setWidgetResizable(True)
        self.settings_group = QGroupBox("Settings")
        QVBoxLayout(self.settings_group).addWidget(self.settings_box)
        left = QVBoxLayout()
        left.addLayout(job)
        left.addWidget(self.settings_group, 1)

        self.scene = QLabel("Choose a .blend file; Blender reads its scene in the background.")
        self.scene.setObjectName("sceneSummary")
        self.scene.setWordWrap(True)
        self.scene.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scene_group = QGroupBox("Scene")
        QVBoxLayout(scene_group).addWidget(self.scene)
        self.preflight_list = QListWidget()
        self.preflight_list.setObjectName("preflight")
        self.preflight_list.setWordWrap(True)
        self.confirm_missing = QCheckBox("Submit even though files are missing")
        self.confirm_missing.setObjectName("confirmMissing")
        self.confirm_missing.hide()
        self.confirm_missing.toggled.connect(lambda _on: self._update_buttons())
        pre_group = QGroupBox("Pre-flight")
        pre = QVBoxLayout(pre_group)
        pre.addWidget(self.preflight_list, 1)
        pre.addWidget(self.confirm_missing)
        right = QVBoxLayout()
        right.addWidget(scene_group)
        right.addWidget(pre_group, 1)

        columns = QHBoxLayout()
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)
        self.phase = QLabel()
        self.phase.setObjectName("submitPhase")
        self.progress = QProgressBar()
        self.progress.setObjectName("submitProgress")
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.message = QLabel()
        self.message.setObjectName("submitMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.submit_button = QPushButton("Submit")
        self.submit_button.setObjectName("submitButton")
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.phase)
        buttons.addWidget(self.progress, 1)
        buttons.addStretch()
        buttons.addWidget(self.submit_button)
        buttons.addWidget(self.cancel_button)
        # What the artist may not change while a submission runs (it would not be what is sent).
        self._inputs = [self.manager, self.path, browse, self.type_combo, refresh, self.name, self.priority,
                        self.tag, self.token, self.paused, self.settings_group, self.confirm_missing, self.after,
                        self.previews]
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._update_buttons()

    # --- the Manager: job types and tags -----------------------------------------------------------
    @property
    def manager_url(self) -> str:
        return str(self.manager.currentData() or "")

    def _client(self) -> ManagerClient | None:
        conn = self.dashboard.connections.get(self.manager_url)
        return conn.client if conn is not None else None

    def _admin_token(self) -> str:
        client = self._client()
        return client.transport.admin_token if client is not None else ""

    def _show_token(self) -> None:
        """The submit-token row, only when the dialog has no admin token for this Manager (which says
        more); filled with the token remembered for it."""
        needed = not self._admin_token()
        remembered = submit_token_store().recall(self.manager_url) if needed and self.manager_url else None
        self.token.setText(remembered or "")
        self.token.setVisible(needed)
        self.token_label.setVisible(needed)

    def _manager_chosen(self) -> None:
        self._show_token()
        self.after.fill(self.dashboard, self.manager_url)
        self.load_job_types()

    def load_job_types(self) -> None:
        spawn(self._load_job_types())

    async def _load_job_types(self, keep: str = "") -> None:
        client = self._client()
        if client is None:
            self._say("No Manager is watched: add one with File ▸ Watch another Manager.", error=True)
            return
        try:
            types = await client.job_types()
            tags = await client.worker_tags()
            sites = await hub_sites(client)
        except ManagerUnreachable:
            self._say(f"Cannot reach the Manager at {self.manager_url}: check that it runs and that its URL "
                      "is right, then press Refresh.", error=True)
            return
        except Exception as exc:  # noqa: BLE001 - shown in the Manager's words
            self._say(f"Cannot get the job types from {self.manager_url}: {exc}", error=True)
            return
        self.job_types = {t.name: t for t in types}
        chosen = keep or (self.job_type.name if self.job_type else "") or DEFAULT_JOB_TYPE
        self.type_combo.blockSignals(True)
        self.type_combo.clear()
        for t in types:
            self.type_combo.addItem(t.label or t.name, t.name)
            self.type_combo.setItemData(self.type_combo.count() - 1, t.description or "", Qt.ItemDataRole.ToolTipRole)
        self.type_combo.setCurrentIndex(max(0, self.type_combo.findData(chosen)))
        self.type_combo.blockSignals(False)
        current_tag = self.tag.currentData()
        self.tag.clear()
        self.tag.addItem(ANY_WORKER, None)
        for tag in sorted(tags, key=lambda t: t.name.lower()):
            self.tag.addItem(tag.name, tag.id)
        self.tag.setCurrentIndex(max(0, self.tag.findData(current_tag)))
        self.site.fill(sites)
        self.job_form.setRowVisible(self.site, bool(sites))
        if not types:
            self._say("The Manager has no job types.", error=True)
        self._type_chosen()

    async def _prefill(self, row: JobRow) -> None:
        """Fill the dialog in with the job `row` (Duplicate and edit)."""
        from app.ui.job_output import local_settings

        client = self._client()
        if client is None:
            self._say("The job's Manager is no longer watched.", error=True)
            return
        try:
            job = (await client.job(row.job.id)).to_json()
            variables = await self.dashboard.variables_here(row)
        except Exception as exc:  # noqa: BLE001 - shown in the Manager's words
            self._say(f"Cannot read job {row.job.name} from {self.manager_url}: {exc}", error=True)
            await self._load_job_types()
            return
        settings = local_settings(job.get("settings") or {}, variables)
        self.name.setText(str(job.get("name", "")))
        self.priority.setValue(int(job.get("priority", 50)))
        await self._load_job_types(keep=str(job.get("type", "")))
        if self.job_type is None or self.job_type.name != job.get("type") or self.form is None:
            self._say(f"This Manager no longer has the job type {job.get('type')!r}.", error=True)
            return
        editable = {st.key for st in self.job_type.settings
                    if st.editable is not False and st.key != "blendfile"}
        self.form.set_user_values({k: v for k, v in settings.items() if k in editable})
        self.tag.setCurrentIndex(max(0, self.tag.findData(job.get("worker_tag") or None)))
        blendfile = settings.get("blendfile")
        if isinstance(blendfile, str) and blendfile:
            self.set_blendfile(Path(blendfile))

    def _type_chosen(self, _index: int = -1) -> None:
        name = self.type_combo.currentData()
        job_type = self.job_types.get(name)
        if job_type is None or (self.job_type is not None and job_type is self.job_type and self.form):
            return
        refreshed = self.job_type is not None and self.job_type.name == job_type.name  # Refresh pressed
        self.use_job_type(job_type, keep_values=refreshed)
        self._read_later(now=True)

    def use_job_type(self, job_type: AvailableJobType, keep_values: bool = False) -> None:
        """Build the form of `job_type` (keeping the artist's values when it is a refreshed copy)."""
        values = self.form.user_values() if keep_values and self.form is not None else {}
        self.job_type = job_type
        self.job_types[job_type.name] = job_type
        self.form = SettingsForm(job_type)
        self.form.setObjectName("settingsForm")
        self.form.set_user_values(values)
        self._offer_output_root(values)
        watched = eval_inputs(job_type)
        self.form.edited.connect(lambda key: self._read_later() if key in watched else None)
        self.form.edited.connect(lambda key: setattr(self, "offered_root", "") if key == OUTPUT_ROOT else None)
        self.settings_box.setWidget(self.form)
        self.settings_group.setTitle(f"{job_type.label or job_type.name} settings")
        self.previews.use_job_type(job_type.name, [st.key for st in job_type.settings])
        if self.blend is not None:
            self.form.show_scene(self.blend.evaluated, self.blend.implied)
        self._update_buttons()

    def _offer_output_root(self, kept: dict[str, Any]) -> None:
        """Put the output folder typed for this Manager's last job in the form, as the artist's value."""
        self.offered_root = ""
        remembered = remembered_output_root(self.manager_url) if self.manager_url else ""
        if remembered and OUTPUT_ROOT not in kept and self.form is not None and OUTPUT_ROOT in self.form.fields:
            self.form.set_user_values({OUTPUT_ROOT: remembered})
            self.offered_root = remembered

    def _drop_offered_root(self, why: str) -> None:
        """The farm no longer lets jobs write to the remembered folder: the scene's or the farm's instead."""
        assert self.form is not None
        one = self.form.fields[OUTPUT_ROOT]
        set_editor_value(one.editor, "")
        one.touched = one.from_scene = False
        _log.info("not offering the remembered output folder %s: %s", self.offered_root, why)
        self.offered_root = ""

    # --- the file and its scene --------------------------------------------------------------------
    def set_blendfile(self, path: Path) -> None:
        self.path.setText(str(path))
        self._path_changed()

    def blendfile(self) -> Path | None:
        text = self.path.text().strip()
        return Path(text).expanduser() if text else None

    def _browse(self) -> None:
        current = self.blendfile()
        start = str(current.parent) if current else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a .blend file", start, "Blend files (*.blend)")
        if path:
            self.set_blendfile(Path(path))

    def _path_changed(self) -> None:
        path = self.blendfile()
        self.name.setPlaceholderText(path.stem if path else "")
        self.blend, self.report = None, None
        self.preflight_list.clear()
        self.confirm_missing.hide()
        self._read_later(now=True)

    def job_name(self) -> str:
        path = self.blendfile()
        return self.name.text().strip() or (path.stem if path else "")

    def _read_later(self, now: bool = False) -> None:
        self._read_timer.start(0 if now else READ_DELAY_MS)

    def read_scene(self) -> None:
        """Read the scene and make the pre-flight report again (the previous read is stopped)."""
        if self._read_task is not None:
            self._read_task.cancel()
        self._read_task = None
        path = self.blendfile()
        if self._busy():
            self._read_later()  # after the submission
            return
        if self.job_type is None or path is None:
            return
        if not looks_like_blend(path):
            self.scene.setText(f"{path} is not a .blend file." if path.exists() else f"{path} does not exist.")
            self._update_buttons()
            return
        self._read_task = spawn(self._read(self._request()))

    async def _read(self, request: SubmitRequest) -> None:
        job_type = self.job_type
        assert job_type is not None and self.form is not None
        self.scene.setText("Reading the scene in Blender…")
        self._set_preflight([(words.INFO, "Waiting for the scene…")])
        client = client_for(request)  # asks as the submission will: the policy is per credential
        try:
            policy = await fetch_policy(client, request.platform)
            refused = output_refusal(self.offered_root, policy, request.platform) if self.offered_root and policy \
                else None
            if refused is not None:
                self._drop_offered_root(refused)
                request = self._request()
            user = user_values(request, job_type)
            blend = await read_scene(request, job_type, user, policy)
            if job_type is not self.job_type:
                return
            self.blend = blend
            self.form.show_scene(blend.evaluated, blend.implied)
            self.scene.setText(words.scene_text(blend))
            self._set_preflight([(words.INFO, "Checking the files…")])
            settings = merge_settings(job_type, user, blend.evaluated, blend.implied)
            self.report = await preflight(Prepared(request, job_type, blend, settings, policy), client=client)
            self._set_preflight(words.preflight_lines(self.report))
            self._update_buttons()  # now, not after the client closes: missing files block Submit at once
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a SubmitError or a lost Manager, in words
            self.scene.setText(words.explain(exc))
            self._set_preflight([(words.ERROR, words.explain(exc))])
        finally:
            await client.close()
            self._update_buttons()

    def _set_preflight(self, lines: list[tuple[str, str]]) -> None:
        icons = {words.OK: QStyle.StandardPixmap.SP_DialogApplyButton,
                 words.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
                 words.WARN: QStyle.StandardPixmap.SP_MessageBoxWarning,
                 words.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical}
        self.preflight_list.clear()
        for level, text in lines:
            item = QListWidgetItem(self.style().standardIcon(icons[level]), text)
            item.setData(Qt.ItemDataRole.UserRole, level)
            item.setToolTip(text)
            self.preflight_list.addItem(item)
        missing = bool(self.report is not None and self.report.missing)
        self.confirm_missing.setVisible(missing)
        if missing:
            self.confirm_missing.setText(f"Submit even though {len(self.report.missing)} file(s) are missing")

    def preflight_texts(self) -> list[str]:
        return [self.preflight_list.item(i).text() for i in range(self.preflight_list.count())]

    # --- submitting ------------------------------------------------------------------------------
    def _request(self) -> SubmitRequest:
        assert self.job_type is not None and self.form is not None
        client = self._client()
        admin = self._admin_token()
        access = client.transport.access_token if client is not None else ""
        token = "" if admin else self.token.text().strip()
        path = self.blendfile()
        return SubmitRequest(blendfile=path or Path(), manager_url=self.manager_url, job_type=self.job_type.name,
                             name=self.job_name(), values=self.form.user_values(), priority=self.priority.value(),
                             paused=self.paused.isChecked(), worker_tag=self.tag.currentData(),
                             access_token=token or access, admin_token=admin, after=self.after.depends_on(),
                             on_dependency_failure=self.after.on_failure(),
                             metadata={**self.previews.metadata(), **self.site.metadata()})

    def _busy(self) -> bool:
        """A submission runs (from Submit until it is accepted, refused or cancelled)."""
        return self._submitting

    def blocked_by_missing(self) -> bool:
        return bool(self.report is not None and self.report.missing and not self.confirm_missing.isChecked())

    def _update_buttons(self) -> None:
        path = self.blendfile()
        ready = self.job_type is not None and path is not None and not self._busy()
        self.submit_button.setEnabled(ready and not self.blocked_by_missing())
        for widget in self._inputs:
            widget.setEnabled(not self._busy())

    def submit(self) -> None:
        if not self.submit_button.isEnabled():
            return
        if self._read_task is not None:
            self._read_task.cancel()
            self._read_task = None
        self._say("")
        self._committing, self._submitting = False, True
        self._submit_task = spawn(self._submit(self._request()))
        self._submitting = self._submit_task is not None
        self._update_buttons()

    def _on_progress(self, phase: str, done: int, total: int) -> None:
        if phase == "submitting":
            self._committing = True  # set on the loop's thread, before the job is sent
        self._relay.progress.emit(phase, done, total)

    def _show_progress(self, phase: str, done: Any, total: Any) -> None:
        self.phase.setText(words.phase_text(phase) + "…")
        self.progress.show()
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, done / total)))
        else:
            self.progress.setRange(0, 0)  # busy: no measure for this phase

    async def _submit(self, request: SubmitRequest) -> None:
        client = client_for(request)
        try:
            prepared = await prepare(request, client=client, on_progress=self._on_progress)
            if self.job_type is not None and prepared.job_type.etag != self.job_type.etag:
                raise JobTypeChanged(request.job_type, prepared.job_type)
            self.blend = prepared.blend
            if prepared.blend.missing and not self.confirm_missing.isChecked():
                self._read_later(now=True)  # shows them in the report
                raise _MissingFiles(len(prepared.blend.missing))
            result = await submit_prepared(prepared, client=client, on_progress=self._on_progress)
        except asyncio.CancelledError:
            self._finished("Cancelled: nothing was submitted.")
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes words in the dialog
            self._failed(exc)
            return
        finally:
            await client.close()
        self.job_id = result.job.id
        _log.info("submitted job %s from the dialog", result.job.id)
        typed = self.token.text().strip()
        if typed and not request.admin_token:
            submit_token_store().remember(request.manager_url, typed)
        root = request.values.get(OUTPUT_ROOT)
        if isinstance(root, str) and root.strip():  # the artist's own folder, not the scene's
            remember_output_root(request.manager_url, root.strip())
        self._finished("")
        self.submitted.emit(request.manager_url, result.job.id)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, JobTypeChanged):
            if exc.job_type is not None:
                self.use_job_type(exc.job_type, keep_values=True)
            else:
                spawn(self._load_job_types(keep=self.job_type.name if self.job_type else ""))
        _log.info("submission failed: %s", exc)
        self._finished(words.explain(exc), error=True)

    def _finished(self, text: str, error: bool = False) -> None:
        self._committing = self._submitting = False
        self.progress.hide()
        self.phase.setText("")
        self._say(text, error=error)
        self._update_buttons()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b3261e;" if error else "")

    def reject(self) -> None:
        """Cancel / Esc / closing: stop a running submission first (unless the job is being sent)."""
        if self._busy():
            assert self._submit_task is not None
            if self._committing:
                self._say("The job is being sent to the Manager; it can no longer be cancelled.")
                return
            self._submit_task.cancel()
            self._say("Cancelling…")
            return
        self._stop_reading()
        super().reject()

    def accept(self) -> None:
        self._stop_reading()
        super().accept()

    def _stop_reading(self) -> None:
        self._read_timer.stop()
        if self._read_task is not None:
            self._read_task.cancel()
            self._read_task = None

    # --- drops -----------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if blend_paths(event.mimeData()) and not self._busy():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = blend_paths(event.mimeData())
        if paths and not self._busy():
            self.set_blendfile(paths[0])
            event.acceptProposedAction()


class _MissingFiles(SubmitError):
    def __init__(self, count: int):
        super().__init__(f"{count} file(s) are missing: see the pre-flight report, and tick the box to "
                         "submit anyway")

