"""Submitting a .blend to a Manager without Blender's UI and without Qt: the core of `tablao submit`,
the desktop submit dialog and the `farm` release tool.

    from app.submit import SubmitRequest, submit_blend
    result = await submit_blend(SubmitRequest(Path("shot.blend"), "http://render:8080",
                                              assignments=["chunk_size=5"]),
                                on_progress=lambda phase, done, total: ...)
    result.job.id, result.approach, result.settings

`submit_blend` = `prepare` (job type and the farm's submit policy, one Blender run reading the
scenes, the file's scripts and evaluating the job type's `eval` settings, the Manager's check) +
`submit_prepared` (pack along the Manager's storage approach with `app.packer`, submit with the job
type's etag). `Prepared.warnings` says, before any upload, which scripts will not run on the farm
and where the output goes (`app.submit.policy`); `client_for(request)` carries its credentials.
Front ends that show a pre-flight report call the two halves themselves, with `preflight(prepared, client=...)` between them (missing
files, absolute paths, libraries, sequences, total size, what a Shaman Manager already has). `read_blend` alone reads a file's scenes and external files.
Failures are `SubmitError`s (`BadInput`, `Refused`, `InvalidSetting`, `UnknownJobType`,
`JobTypeChanged`, `Unreachable`, `BlenderFailed`), each with a one-line message and an `exit_code`.
"""

from app.submit.blendinfo import (
    BlendInfo,
    ExternalFile,
    SceneInfo,
    check_blendfile,
    looks_like_blend,
    read_blend,
)
from app.submit.errors import (
    BadInput,
    BlenderFailed,
    InvalidSetting,
    JobTypeChanged,
    Refused,
    SubmitError,
    UnknownJobType,
    Unreachable,
)
from app.submit.preflight_report import Preflight, preflight
from app.submit.settings import merge_settings, parse_assignments, parse_setting_value
from app.submit.submission import (
    DEFAULT_JOB_TYPE,
    Prepared,
    SubmitProgress,
    SubmitRequest,
    SubmitResult,
    fetch_job_type,
    prepare,
    read_scene,
    submit_blend,
    submit_blend_sync,
    submit_prepared,
)

__all__ = [
    "DEFAULT_JOB_TYPE", "BadInput", "BlendInfo", "BlenderFailed", "ExternalFile", "InvalidSetting",
    "JobTypeChanged", "Preflight", "Prepared", "Refused", "SceneInfo", "SubmitError", "SubmitProgress", "SubmitRequest",
    "SubmitResult", "UnknownJobType", "Unreachable", "check_blendfile", "fetch_job_type", "looks_like_blend",
    "merge_settings", "parse_assignments", "parse_setting_value", "preflight", "prepare", "read_blend", "read_scene", "submit_blend",
    "submit_blend_sync", "submit_prepared",
]
