"""What the submit dialog says, in words: the scene read-out, the pre-flight report, failures, phases.

Qt-free on purpose (plain strings and tuples), so the wording can be checked without a window.
"""

from __future__ import annotations

from app.submit import (
    BadInput,
    BlenderFailed,
    BlendInfo,
    InvalidSetting,
    JobTypeChanged,
    Preflight,
    SubmitError,
    UnknownJobType,
    Unreachable,
)
from app.submit.requirements import needs_words, requirements_of

OK, INFO, WARN, ERROR = "ok", "info", "warn", "error"
MAX_LISTED = 50  # files listed per kind; the rest is a count

PHASES = {
    "connecting": "Asking the Manager for the job type",
    "reading": "Reading the scene in Blender",
    "validating": "The Manager checks the settings",
    "hashing": "Hashing files",
    "checking": "Asking the Manager which files it lacks",
    "uploading": "Uploading files to the Manager",
    "checkout": "The Manager lays out the job's files",
    "copying": "Copying files to the shared storage",
    "submitting": "Submitting the job",
    "done": "Submitted",
}


def phase_text(phase: str) -> str:
    return PHASES.get(phase, phase.capitalize())


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def scene_text(blend: BlendInfo) -> str:
    """One paragraph: scene, frames, fps, output, camera, resolution."""
    s = blend.scene
    x, y, pct = s.resolution
    parts = [f"Scene “{s.name}”", f"frames {s.frame_start}–{s.frame_end}"
             + (f" step {s.frame_step}" if s.frame_step != 1 else ""),
             f"{s.fps:g} fps", f"{s.file_format} to {s.output_dir or '(no output path)'}",
             f"camera {s.camera or '(none)'}", f"{s.engine.replace('BLENDER_', '').title()}",
             f"{x * pct // 100}×{y * pct // 100} px"]
    if len(blend.scenes) > 1:
        parts.append(f"{len(blend.scenes)} scenes in the file")
    if blend.blender_version:
        parts.append(f"read by Blender {blend.blender_version}")
    needs = needs_words(requirements_of(blend.needs))
    return ", ".join(parts) + (f". Needs {needs}" if needs else "")


def _listed(files, level: str, what: str, show) -> list[tuple[str, str]]:
    lines = [(level, f"{what}: {show(f)}") for f in files[:MAX_LISTED]]
    if len(files) > MAX_LISTED:
        lines.append((level, f"… and {len(files) - MAX_LISTED} more {what.lower()}s"))
    return lines


def preflight_lines(report: Preflight) -> list[tuple[str, str]]:
    """The pre-flight report as (level, text) lines, the blocking ones first."""
    how = {"in-place": "rendered in place: the file is on the shared storage",
           "copy": "copied with its files into a folder of its own on the shared storage",
           "shaman": "uploaded through the Manager's Shaman store (only what it lacks)"}[str(report.approach)]
    lines = _listed(report.missing, ERROR, "Missing file", lambda f: f"{f.raw} ({f.path})")
    lines += [(WARN, warning) for warning in report.warnings]  # the farm's policy: scripts, output folder
    if report.output:
        lines.append((INFO, f"Output: {report.output}"))
    lines.append((INFO, f"{report.files_total} file(s), {size_text(report.bytes_total)}; {how}"))
    if report.files_on_manager is not None:
        lines.append((OK, f"The Manager already has {report.files_on_manager} of them "
                          f"({size_text(report.bytes_on_manager or 0)}); "
                          f"{size_text(report.bytes_to_send)} to send"))
    if str(report.approach) != "in-place":
        lines += _listed(report.absolute, WARN, "Absolute path outside the project",
                         lambda f: f"{f.raw} (workers read it there, not from the packed copy)")
    lines += _listed(report.libraries, INFO, "Linked library", lambda f: f.raw)
    lines += _listed(report.sequences, INFO, "Sequence or cache file", lambda f: f.path.name)
    if not report.missing:
        lines.append((OK, "No missing files"))
    return lines


def explain(exc: BaseException) -> str:
    """A failure in words the artist can act on."""
    if isinstance(exc, Unreachable):
        return f"Cannot reach the Manager: {exc}. Check that it runs and that its URL is right."
    if isinstance(exc, JobTypeChanged):
        return ("The job type changed on the Manager. Its settings were refreshed: check them and "
                "submit again.")
    if isinstance(exc, UnknownJobType):
        return f"{_sentence(str(exc))}."
    if isinstance(exc, InvalidSetting):
        return _sentence(str(exc)) + ("" if str(exc).endswith(".") else ".")
    if isinstance(exc, BadInput | BlenderFailed):
        return _sentence(str(exc)) + "."
    if isinstance(exc, SubmitError):
        return _sentence(str(exc))
    if isinstance(exc, OSError):
        return f"A file could not be read: {exc}"
    return f"Unexpected error: {exc}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
