"""Finding and checking a Blender executable for the setup wizard (`/configuration/check/blender`).

A candidate is usable when `<exe> --version` runs and prints a Blender version line.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)
VERSION_TIMEOUT_S = 20.0

_DEFAULT_LOCATIONS = {
    "linux": ["/usr/bin/blender", "/usr/local/bin/blender", "/snap/bin/blender", "/opt/blender/blender"],
    "darwin": ["/Applications/Blender.app/Contents/MacOS/Blender"],
    "win32": [r"C:\Program Files\Blender Foundation\Blender\blender.exe"],
}


async def check_blender(command: str, source: str = "input_path") -> dict[str, Any]:
    """Check one command (an executable, possibly with arguments). Never raises."""
    result = {"input": command, "path": "", "source": source, "is_usable": False, "cause": ""}
    try:
        argv = shlex.split(command, posix=sys.platform != "win32")
    except ValueError as exc:
        result["cause"] = f"cannot read this command: {exc}"
        return result
    if not argv:
        result["cause"] = "no command given; enter the path of the Blender executable"
        return result
    exe = shutil.which(argv[0]) or (argv[0] if Path(argv[0]).is_file() else None)
    if exe is None:
        result["cause"] = f"{argv[0]!r} was not found; give the full path of the Blender executable"
        return result
    result["path"] = exe
    version, cause = await _version(exe, argv[1:])
    result["is_usable"], result["cause"] = version is not None, version or cause
    return result


async def find_blender() -> list[dict[str, Any]]:
    """Candidates from PATH and the usual install locations, each checked."""
    candidates: list[tuple[str, str]] = []
    if shutil.which("blender"):
        candidates.append(("blender", "path_envvar"))
    platform_key = "linux" if sys.platform.startswith("linux") else sys.platform
    for location in _DEFAULT_LOCATIONS.get(platform_key, []):
        if Path(location).is_file() and not any(Path(shutil.which(c) or c) == Path(location) for c, _ in candidates):
            candidates.append((location, "system_location"))
    return list(await asyncio.gather(*(check_blender(c, s) for c, s in candidates)))


async def _version(exe: str, extra_args: list[str]) -> tuple[str | None, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            exe, *extra_args, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    except OSError as exc:
        return None, f"cannot run {exe}: {exc.strerror or exc}"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), VERSION_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None, f"{exe} --version did not finish within {VERSION_TIMEOUT_S:.0f} s"
    text = out.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("Blender "):
            return line.strip(), ""
    return None, f"{exe} does not look like Blender (--version printed no 'Blender x.y' line)"
