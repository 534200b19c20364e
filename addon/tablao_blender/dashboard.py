""""Open in dashboard": start Tablao's desktop app on the job the panel follows.

Runs `tablao --manager URL --job JOB_ID` (the program from the add-on preferences, else `tablao`
found on PATH), detached, so Blender does not wait for it. When there is no such program, the
artist is told in words what to install or set, instead of a code.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from typing import Any

import bpy

from .state import STATE

_log = logging.getLogger(__name__)

PROGRAM = "tablao"


class DesktopAppMissing(Exception):
    """The desktop app cannot be started; the message says what to do."""


def find_program(configured: str) -> str:
    """The desktop app to run: the configured path (or name), else `tablao` on PATH."""
    wanted = bpy.path.abspath(configured.strip()) if configured.strip() else PROGRAM
    found = shutil.which(wanted)
    if found:
        return found
    if configured.strip():
        raise DesktopAppMissing(
            f"The Tablao desktop app was not found at {wanted}: check its path in the add-on preferences "
            f"(Desktop App), or clear it to use `{PROGRAM}` from PATH"
        )
    raise DesktopAppMissing(
        f"The Tablao desktop app is not installed here (no `{PROGRAM}` on PATH): install Tablao with its "
        "desktop app (pip install 'tablao[gui]'), or set its path in the add-on preferences (Desktop App)"
    )


def dashboard_command(context: Any, job_id: str) -> list[str]:
    from .preferences import addon_prefs

    prefs = addon_prefs(context)
    program = find_program(getattr(prefs, "dashboard_program", ""))
    return [program, "--manager", prefs.manager_url.strip(), "--job", job_id]


def open_dashboard(context: Any, job_id: str) -> list[str]:
    """Start the desktop app on `job_id`; returns the command. Raises `DesktopAppMissing`."""
    command = dashboard_command(context, job_id)
    options: dict[str, Any] = {}
    if sys.platform == "win32":
        options["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True  # it outlives Blender, and Blender's Ctrl+C
    try:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, close_fds=True, **options)
    except OSError as exc:
        raise DesktopAppMissing(f"The Tablao desktop app ({command[0]}) could not be started: {exc}") from exc
    _log.info("opened the dashboard: %s", command)
    return command


class TABLAO_OT_open_dashboard(bpy.types.Operator):
    bl_idname = "tablao.open_dashboard"
    bl_label = "Open in Dashboard"
    bl_description = "Show this job in Tablao's desktop dashboard (needs the desktop app installed)"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(STATE.job_id)

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            open_dashboard(context, STATE.job_id)
        except DesktopAppMissing as exc:
            STATE.message, STATE.message_icon = str(exc), "ERROR"
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, "Opening the job in the Tablao dashboard")
        return {"FINISHED"}


classes = (TABLAO_OT_open_dashboard,)
