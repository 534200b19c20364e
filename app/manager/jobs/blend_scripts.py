"""Whether Python stored in a job's .blend file may run on the workers, and keeping it from running.

A .blend file can carry Python: text blocks registered to run when the file loads, and Python
expressions in drivers. Blender runs them only with its auto-run switch on (`-y`), which Flamenco's
default Blender arguments turn on. Whoever may submit a job chooses the file, so on a studio LAN that
would be code execution on every worker, artists' workstations included.

The rule: they run only when the Manager's `allow_blend_scripts` is on AND the job was submitted with
a credential (`Job.credentialed`: the access, submit or admin token). Otherwise every `blender-render`
command handed out loses its auto-run flags and gets `--disable-autoexec` as its last argument before
the file, whatever the job type or the `blenderArgs` variable say. That is what a stock Flamenco worker
runs as given; Tablao's worker applies the same rule again itself (`AssignedTask.blend_scripts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

BLENDER_RENDER = "blender-render"
AUTOEXEC_ON = frozenset({"-y", "--enable-autoexec"})
AUTOEXEC_OFF = "--disable-autoexec"


class ScriptsSettings(Protocol):
    allow_blend_scripts: bool


class CredentialedJob(Protocol):
    credentialed: bool


def scripts_allowed(settings: ScriptsSettings, job: CredentialedJob) -> bool:
    """May the scripts inside this job's .blend files run? (Read at every hand-out: settings change.)"""
    return bool(settings.allow_blend_scripts and job.credentialed)


def blend_scripts_reason(allowed: bool, credentialed: bool) -> str:
    """Whether a submitter's .blend scripts will run, and why, in words for the artist."""
    if allowed and credentialed:
        return "this farm runs the scripts stored in your .blend files (you submit with a token)"
    if allowed:
        return ("this farm runs scripts stored in .blend files only for jobs submitted with its submit token "
                "(set it in the add-on's preferences); without it they will not run")
    return ("this farm does not run scripts stored in .blend files (auto-run scripts, Python drivers): "
            "a render that needs them may look different from Blender on your computer")


def without_blend_scripts(commands: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`commands` with every `blender-render` made to load its file with auto-run off."""
    return [_render_without_scripts(c) if c.get("name") == BLENDER_RENDER else dict(c) for c in commands]


def _render_without_scripts(command: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(command.get("parameters") or {})
    exe_args = params.get("exeArgs")
    if isinstance(exe_args, str):
        # Split on blanks only: a shell-style split would eat the backslashes of Windows paths.
        params["exeArgs"] = " ".join(word for word in exe_args.split() if word not in AUTOEXEC_ON)
    for key in ("argsBefore", "args"):
        value = params.get(key)
        if isinstance(value, list):
            params[key] = [arg for arg in value if arg not in AUTOEXEC_ON]
    before = params.get("argsBefore")
    params["argsBefore"] = [*(before if isinstance(before, list) else []), AUTOEXEC_OFF]
    return {**command, "parameters": params}
