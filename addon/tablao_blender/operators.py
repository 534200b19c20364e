"""Operators: check the connection, fetch job types, the pre-flight report, submit (modal) and follow.

The functions beside the operators (`refresh_job_types`, `run_preflight`, `build_request`,
`explain`, `poll_job_once`) do the work and are what scripts and tests call; the operators add
Blender's reporting. The pre-flight asks the farm's submit policy with the token from the
preferences (what the submission sends): scripts in the file that will not run there are named, and
an empty output folder becomes the scene's, or the farm's when the farm does not let jobs write to
the scene's. Submitting runs the pre-flight again first, before anything is packed or uploaded.
Submitting interactively runs the pack/upload on a thread and drains its message queue on a timer (status bar progress, Esc cancels); in background mode, or called from a
script with EXEC_DEFAULT, the same steps run synchronously.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import traceback
from typing import Any

import bpy

from . import job_types, preflight
from ._api.errors import HttpError, ManagerUnreachable
from ._preview_switches import preview_metadata
from ._scene_needs import needs_words
from .comms import is_compatible
from .packing import Cancelled, PackFailed, decide_approach
from .preferences import manager_for
from .properties import ALL_WORKERS, site_metadata, use_job_type
from .state import STATE
from .submission import (
    Incompatible,
    Refused,
    Request,
    StaleJobType,
    Submission,
    scene_requirements,
    submitter_platform,
)

_log = logging.getLogger(__name__)
_previews: Any = None  # bpy.utils.previews collection for the last-rendered thumbnail


# ------------------------------------------------------------------------------------ the work
def explain(exc: BaseException) -> str:
    """A failure in words an artist can act on."""
    if isinstance(exc, ManagerUnreachable):
        return f"{exc}. Check the Manager URL in the add-on preferences and that the Manager is running."
    if isinstance(exc, StaleJobType):
        return (
            f"The job type changed on the Manager ({exc}). Its settings were refreshed: "
            f"check them and submit again."
        )
    if isinstance(exc, Refused):
        return f"The Manager refused the job: {exc}"
    if isinstance(exc, HttpError) and exc.status in (401, 403):
        return f"The Manager refused access: {exc.message}. Set the access token in the add-on preferences."
    if isinstance(exc, HttpError):
        return f"The Manager answered with an error: {exc.message}"
    if isinstance(exc, (Incompatible, PackFailed, Cancelled, job_types.EvalError)):
        return str(exc)[:1].upper() + str(exc)[1:]
    if isinstance(exc, OSError):  # a file gone or unreadable: say which, so it can be found
        return f"A file could not be used: {exc}{_where(exc)}"
    return f"Unexpected error: {type(exc).__name__}: {exc}{_where(exc)}"


def _where(exc: BaseException) -> str:
    """Where it happened, for a bug report: the innermost frame in the add-on, else the innermost."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    ours = [f for f in frames if os.path.dirname(f.filename) == os.path.dirname(__file__)]
    frame = (ours or frames)[-1]
    return f" (in {os.path.basename(frame.filename)}, line {frame.lineno})"


def check_connection(context: Any) -> str:
    """Ask the Manager for its name, version and storage; the answer in words (also on STATE)."""
    try:
        manager = manager_for(context, timeout=5)
        version = manager.version()
        storage = manager.shared_storage(submitter_platform())
    except Exception as exc:
        STATE.connection, STATE.connection_ok = explain(exc), False
        return STATE.connection
    if not is_compatible(version):
        STATE.connection, STATE.connection_ok = (
            f"{version.name} runs version {version.version}: not compatible (needs Flamenco v3)",
            False,
        )
        return STATE.connection
    approach = (
        "unknown until the file is saved"
        if not bpy.data.filepath
        else decide_approach(bpy.data.filepath, storage.location, storage.shaman_enabled)
    )
    STATE.connection = f"{version.name}, version {version.version}; storage for this file: {approach}"
    STATE.connection_ok = True
    return STATE.connection


def refresh_job_types(context: Any) -> list[str]:
    """Fetch job types and worker tags; keeps the chosen type and re-makes its settings group."""
    manager = manager_for(context, timeout=10)
    STATE.job_types = {t.name: t for t in manager.job_types()}
    STATE.worker_tags = manager.worker_tags()
    STATE.sites = manager.hub_sites()
    fetch_policy(context)  # the panel shows the output folder an empty field stands for
    props = context.scene.tablao
    names = list(STATE.job_types)
    if names:
        if props.job_type not in STATE.job_types:
            props.job_type = names[0]
        use_job_type(props.job_type)
    return names


def current_job_type(context: Any) -> Any:
    return STATE.job_types.get(context.scene.tablao.job_type)


def job_settings(context: Any) -> Any:
    return getattr(context.window_manager, "tablao_job_settings", None)


def fetch_policy(context: Any) -> Any:
    """The farm's submit policy for this add-on's token (`_api.meta.SubmitPolicy`), kept on STATE;
    None from a Flamenco Manager, or when the Manager cannot be asked (then nothing is assumed)."""
    try:
        STATE.policy = manager_for(context, timeout=5).submit_policy(submitter_platform())
    except Exception as exc:  # the pre-flight goes on; the Manager still checks the job itself
        _log.info("pre-flight: cannot ask the Manager for its submit policy: %s", exc)
        STATE.policy = None
    return STATE.policy


def output_defaults(context: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(defaults, moved): the output folder used when the artist leaves it empty, and the scene's
    folder it replaces when the farm does not allow that one (only for fields left empty)."""
    defaults, moved = preflight.output_defaults(STATE.policy, context.scene)
    props = job_settings(context)
    return defaults, {k: v for k, v in moved.items() if not getattr(props, k, "")}


def run_preflight(context: Any, ask_shaman: bool = True) -> preflight.Report:
    props = context.scene.tablao
    report = preflight.build_report(bpy.path.abspath(props.project_root) if props.project_root else "")
    policy = fetch_policy(context)
    job_type = current_job_type(context)
    if job_type is not None:
        defaults, moved = output_defaults(context)
        try:
            settings = job_types.collect_settings(
                job_type, job_settings(context), context, props.resolved_job_name(context), defaults
            )
        except job_types.EvalError as exc:
            _log.info("pre-flight: the settings do not evaluate yet: %s", exc)
            settings = {}
        preflight.apply_policy(report, policy, settings, moved)
    else:
        preflight.apply_policy(report, policy, {}, {})
    report.needs = needs_words(scene_requirements(context.scene, policy))
    if ask_shaman and bpy.data.filepath:
        try:
            manager = manager_for(context, timeout=10)
            storage = manager.shared_storage(submitter_platform())
            if decide_approach(bpy.data.filepath, storage.location, storage.shaman_enabled) == "shaman":
                preflight.shaman_known(report, manager)
        except Exception as exc:  # the report is still useful without the Manager's part
            _log.info("pre-flight: cannot ask the Manager: %s", exc)
    STATE.report = report
    return report


def build_request(context: Any, allow_missing: bool = False) -> Request:
    """Save if needed, evaluate the settings: everything that needs bpy, before the thread starts."""
    if not bpy.data.filepath:
        raise PackFailed("save the blend file once before submitting")
    if bpy.data.is_dirty:
        bpy.ops.wm.save_mainfile()
    props = context.scene.tablao
    job_type = current_job_type(context)
    if job_type is None:
        raise PackFailed("no job type chosen: refresh the job types from the Manager")
    name = props.resolved_job_name(context)
    defaults, _moved = output_defaults(context)
    settings = job_types.collect_settings(job_type, job_settings(context), context, name, defaults)
    return Request(
        job_type=job_type,
        job_name=name,
        settings=settings,
        blendfile=bpy.data.filepath,
        project=bpy.path.abspath(props.project_root) if props.project_root else "",
        priority=props.priority,
        worker_tag="" if props.worker_tag == ALL_WORKERS else props.worker_tag,
        paused=props.submit_paused,
        allow_missing=allow_missing,
        after_job=props.after_job,
        metadata={**site_metadata(props.site),
                  **preview_metadata(props.preview_first, props.pause_on_preview_failure)},
        requirements=scene_requirements(context.scene, STATE.policy),
    )


def after_failure(context: Any, exc: BaseException) -> str:
    """Record the failure; a stale job type is refreshed right away."""
    if isinstance(exc, StaleJobType):
        try:
            refresh_job_types(context)
        except Exception as again:
            _log.warning("refreshing job types after a 412 failed: %s", again)
    STATE.message, STATE.message_icon = explain(exc), "ERROR"
    return STATE.message


def after_success(result: Any) -> str:
    STATE.job_id, STATE.job = result.job.id, result.job
    pack = result.pack
    detail = f"{pack.approach}"
    if pack.approach == "shaman":
        detail += f", uploaded {pack.files_uploaded} of {pack.files_total} files"
    STATE.message, STATE.message_icon = f"Job '{result.job.name}' submitted ({detail})", "CHECKMARK"
    follow_job()
    return STATE.message


# ------------------------------------------------------------------------------------ following
_poll_lock = threading.Lock()
_poll_result: dict[str, Any] = {}


def _fetch(manager: Any, job_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {"job": manager.fetch_job(job_id)}
    info = manager.last_rendered(job_id)
    if info is not None and info.suffixes:
        suffix = next((s for s in info.suffixes if "small" in s), info.suffixes[0])
        data = manager.download(f"{info.base}/{suffix}")
        path = os.path.join(tempfile.gettempdir(), f"tablao-last-rendered-{job_id}-{suffix}")
        with open(path, "wb") as fh:
            fh.write(data)
        out["thumbnail"] = path
    return out


def _apply(result: dict[str, Any]) -> None:
    if "error" in result:
        STATE.message, STATE.message_icon = explain(result["error"]), "ERROR"
        return
    STATE.job = result["job"]
    if "thumbnail" in result and _previews is not None:
        key = f"{STATE.job.id}-{os.path.getmtime(result['thumbnail'])}"
        if key not in _previews:
            _previews.load(key, result["thumbnail"], "IMAGE")
        STATE.thumbnail = key


def poll_job_once(context: Any = None) -> Any:
    """Fetch the followed job now (blocking); returns it. Used by the timer's thread and by scripts."""
    manager = manager_for(context, timeout=5)
    result = _fetch(manager, STATE.job_id)
    _apply(result)
    return STATE.job


def _timer() -> float | None:
    if not STATE.job_id:
        return None
    with _poll_lock:
        result = dict(_poll_result)
        _poll_result.clear()
    if result:
        _apply(result)
        for window in getattr(bpy.context.window_manager, "windows", []):
            for area in window.screen.areas:
                if area.type == "PROPERTIES":
                    area.tag_redraw()
    manager, job_id = manager_for(None, timeout=5), STATE.job_id

    def fetch() -> None:
        try:
            got = _fetch(manager, job_id)
        except Exception as exc:
            got = {"error": exc}
        with _poll_lock:
            _poll_result.update(got)

    threading.Thread(target=fetch, name="tablao-follow", daemon=True).start()
    done = STATE.job is not None and str(STATE.job.status) in ("completed", "canceled", "failed")
    return None if done and not result else 3.0


def follow_job() -> None:
    if not bpy.app.background and not bpy.app.timers.is_registered(_timer):
        bpy.app.timers.register(_timer, first_interval=1.0)


# ------------------------------------------------------------------------------------ operators
class TABLAO_OT_check_connection(bpy.types.Operator):
    bl_idname = "tablao.check_connection"
    bl_label = "Check Connection"
    bl_description = "Ask the Manager for its name, version and the storage approach this file gets"

    def execute(self, context: bpy.types.Context) -> set[str]:
        text = check_connection(context)
        self.report({"INFO"} if STATE.connection_ok else {"ERROR"}, text)
        return {"FINISHED"} if STATE.connection_ok else {"CANCELLED"}


class TABLAO_OT_refresh(bpy.types.Operator):
    bl_idname = "tablao.refresh"
    bl_label = "Refresh from Manager"
    bl_description = "Fetch the job types and worker tags from the Manager"

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            names = refresh_job_types(context)
        except Exception as exc:
            self.report({"ERROR"}, after_failure(context, exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"{len(names)} job type(s) from the Manager")
        return {"FINISHED"}


class TABLAO_OT_preflight(bpy.types.Operator):
    bl_idname = "tablao.preflight"
    bl_label = "Check Files"
    bl_description = "List what submitting will pack: missing files, libraries, sequences, sizes"

    def execute(self, context: bpy.types.Context) -> set[str]:
        if not bpy.data.filepath:
            self.report({"ERROR"}, "Save the blend file first")
            return {"CANCELLED"}
        report = run_preflight(context)
        if report.missing:
            self.report({"WARNING"}, f"{len(report.missing)} missing file(s): see the pre-flight report")
        return {"FINISHED"}


class TABLAO_OT_submit_job(bpy.types.Operator):
    bl_idname = "tablao.submit_job"
    bl_label = "Submit to Tablao"
    bl_description = "Pack the file as the Manager's storage needs and submit the render job"

    allow_missing: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Allow Missing Files",
        default=False,
        description="Submit even though the pre-flight report lists missing files",
    )

    _timer: Any = None
    _submission: Submission | None = None

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return STATE.submission is None

    def _start(self, context: bpy.types.Context) -> Submission | None:
        try:
            report = run_preflight(context, ask_shaman=False)
            if report.missing and not self.allow_missing:
                raise PackFailed(
                    f"{len(report.missing)} missing file(s), e.g. {report.missing[0].path}; "
                    f"fix them or use 'Submit Anyway'"
                )
            req = build_request(context, self.allow_missing)
        except Exception as exc:
            self.report({"ERROR"}, after_failure(context, exc))
            return None
        STATE.message = ""
        for warning in report.warnings:  # said, not blocking: the Manager checks the job before any upload
            self.report({"WARNING"}, warning)
        return Submission(manager_for(context, timeout=30), req)

    def execute(self, context: bpy.types.Context) -> set[str]:
        sub = self._start(context)
        if sub is None:
            return {"CANCELLED"}
        try:
            result = sub.run()
        except Exception as exc:
            self.report({"ERROR"}, after_failure(context, exc))
            return {"CANCELLED"}
        self.report({"INFO"}, after_success(result))
        return {"FINISHED"}

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if bpy.app.background:
            return self.execute(context)
        sub = self._start(context)
        if sub is None:
            return {"CANCELLED"}
        STATE.submission, self._submission = sub, sub
        STATE.progress, STATE.progress_text = 0.0, "Starting"
        sub.start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        sub = self._submission
        assert sub is not None
        if event.type == "ESC":
            sub.cancel.set()
            STATE.progress_text = "Cancelling…"
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        outcome: tuple[str, Any] | None = None
        while not sub.messages.empty():
            kind, payload = sub.messages.get_nowait()
            if kind == "progress":
                STATE.progress, STATE.progress_text = payload.fraction, payload.text
            else:
                outcome = (kind, payload)
        pct = int(STATE.progress * 100)
        context.workspace.status_text_set(f"Tablao: {STATE.progress_text} ({pct}%) — Esc to cancel")
        for area in context.screen.areas:
            if area.type == "PROPERTIES":
                area.tag_redraw()
        if outcome is None:
            return {"RUNNING_MODAL"}
        self._finish(context)
        kind, payload = outcome
        if kind == "done":
            self.report({"INFO"}, after_success(payload))
            return {"FINISHED"}
        self.report(
            {"WARNING"} if isinstance(payload, Cancelled) else {"ERROR"}, after_failure(context, payload)
        )
        return {"CANCELLED"}

    def _finish(self, context: bpy.types.Context) -> None:
        context.window_manager.event_timer_remove(self._timer)
        context.workspace.status_text_set(None)
        STATE.submission = None
        STATE.progress_text = ""


class TABLAO_OT_cancel(bpy.types.Operator):
    bl_idname = "tablao.cancel"
    bl_label = "Cancel Submission"
    bl_description = "Stop packing and uploading; nothing is submitted"

    def execute(self, context: bpy.types.Context) -> set[str]:
        if STATE.submission is not None:
            STATE.submission.cancel.set()
        return {"FINISHED"}


classes = (
    TABLAO_OT_check_connection,
    TABLAO_OT_refresh,
    TABLAO_OT_preflight,
    TABLAO_OT_submit_job,
    TABLAO_OT_cancel,
)


def register_previews() -> None:
    global _previews
    import bpy.utils.previews

    _previews = bpy.utils.previews.new()


def unregister_previews() -> None:
    global _previews
    if bpy.app.timers.is_registered(_timer):
        bpy.app.timers.unregister(_timer)
    if _previews is not None:
        bpy.utils.previews.remove(_previews)
        _previews = None
