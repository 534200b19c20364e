"""The per-job preview switches a front end sets: preview frames first, and pausing on a failed preview.

A Manager hands a render job's first, last and middle chunks out before the rest unless the job says
`preview_first: false`, and pauses it when a preview chunk fails only when it says
`pause_on_preview_failure: true` (job metadata, which Flamenco's schema types as strings). The front
ends (`tablao submit --no-preview-first / --pause-on-preview-failure`, the desktop dialog's two
checkboxes, the add-on's two options) send only what differs from those defaults, so a submission
that changes nothing carries nothing new and a stock Flamenco Manager sees what it always saw.
"""

from __future__ import annotations

from collections.abc import Iterable

PREVIEW_FIRST = "preview_first"
PAUSE_ON_PREVIEW_FAILURE = "pause_on_preview_failure"
RENDER_TYPE_WORDS = ("render",)  # job types named so render frames: the dialog's default is on for them
FRAMES_SETTING = "frames"  # a job type with a frame range renders frames too


def preview_metadata(preview_first: bool = True, pause_on_failure: bool = False) -> dict[str, str]:
    """The job metadata for these switches: empty for the defaults (previews first, no pause)."""
    found: dict[str, str] = {}
    if not preview_first:
        found[PREVIEW_FIRST] = "false"
    if pause_on_failure:
        found[PAUSE_ON_PREVIEW_FAILURE] = "true"
    return found


def renders_frames(job_type: str, setting_keys: Iterable[str] = ()) -> bool:
    """Whether a job type renders frames, so previews first means something for it: by its name
    (`simple-blender-render`...) or a `frames` setting; the dialog unticks the box for the others."""
    name = job_type.lower()
    return any(word in name for word in RENDER_TYPE_WORDS) or FRAMES_SETTING in set(setting_keys)
