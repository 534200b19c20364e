"""Where a job's output goes, as this computer reaches it; and a job's settings made local again.

A job stores its paths platform-neutral: a path under a two-way variable's value became
`{name}/rest` at submission. The Manager says what each variable is on this computer's platform
for users (`GET /api/v3/configuration/variables/users/{platform}`); expanding with those values
gives the path an artist opens here. Pure functions on text, no Qt, no file system.
"""

from __future__ import annotations

from typing import Any

from app.common import crosspath

#: Settings that name a file the job writes (its folder is the output), then ones that name a folder.
FILE_KEYS = ("render_output_path",)
FOLDER_KEYS = ("render_output_root", "output_path", "output_dir", "output_folder")


def output_path(settings: dict[str, Any] | None) -> tuple[str, bool] | None:
    """(the setting's text, True when it names a file in the output folder), or None without one."""
    settings = settings or {}
    for keys, is_file in ((FILE_KEYS, True), (FOLDER_KEYS, False)):
        for key in keys:
            value = settings.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip(), is_file
    return None


def expander(variables: dict[str, dict[str, Any]], platform: str | None = None) -> crosspath.PathExpander:
    """An expander of `{name}` with the values the Manager gave for this platform's users."""
    platform = platform or crosspath.current_platform()
    one_way = {k: str(v.get("value", "")) for k, v in variables.items() if not v.get("is_twoway")}
    two_way = {k: str(v.get("value", "")) for k, v in variables.items() if v.get("is_twoway")}
    return crosspath.PathExpander(one_way, two_way, (), platform, platform)


def local_output_folder(settings: dict[str, Any] | None, variables: dict[str, dict[str, Any]],
                        platform: str | None = None) -> str:
    """The job's output folder spelled for this computer; "" when the job names none."""
    found = output_path(settings)
    if found is None:
        return ""
    platform = platform or crosspath.current_platform()
    text, is_file = found
    path = crosspath.to_platform(expander(variables, platform).expand(text), platform)
    if is_file:
        path = _parent(path)
    return crosspath.trim_trailing_separators(path) if len(path) > 1 else path


def local_settings(settings: dict[str, Any], variables: dict[str, dict[str, Any]],
                   platform: str | None = None) -> dict[str, Any]:
    """A copy of the job's settings with `{variables}` expanded for this computer (for editing)."""
    return expander(variables, platform).expand_value(dict(settings))


def _parent(path: str) -> str:
    cut = max(path.rfind("/"), path.rfind("\\"))
    if cut < 0:
        return ""
    if cut == 0 or (cut == 2 and path[1] == ":"):
        return path[:cut + 1]  # "/", "S:\"
    return path[:cut]
