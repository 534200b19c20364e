"""Finding and checking a Blender executable for the setup assistant (`/configuration/check/blender`).

What a client sends is the path of one file, never a command line: it is not split into
arguments and never handed to a shell. A bare name without a folder (`blender`) is looked up on
PATH, the way a shell would find it; anything else must be an absolute path. The file is run only
when it exists, is a regular file and is executable, as exactly that file with `--version` as its
only argument, no input, a time limit and a cap on the output read. It is usable when it prints a
`Blender x.y` line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import stat
import sys
from typing import Any

from app.api.errors import BadRequest

_log = logging.getLogger(__name__)
VERSION_TIMEOUT_S = 20.0
MAX_OUTPUT_BYTES = 64 << 10  # `blender --version` prints a few hundred bytes
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux

_DEFAULT_LOCATIONS = {
    "linux": ["/usr/bin/blender", "/usr/local/bin/blender", "/snap/bin/blender", "/opt/blender/blender"],
    "darwin": ["/Applications/Blender.app/Contents/MacOS/Blender"],
    "win32": [r"C:\Program Files\Blender Foundation\Blender\blender.exe"],
}


async def check_blender(path: str, source: str = "input_path") -> dict[str, Any]:
    """Check the one executable file `path` names (the spec's BlenderPathCheckResult). Never raises."""
    result = {"input": path, "path": "", "source": source, "is_usable": False, "cause": ""}
    exe, cause = resolve_executable(path)
    if exe is None:
        result["cause"] = cause
        return result
    result["path"] = exe
    version, cause = await _version(exe)
    result["is_usable"], result["cause"] = version is not None, version or cause
    return result


def resolve_executable(text: str) -> tuple[str | None, str]:
    """(the absolute path of the file `text` names, "") when it is an executable file, else (None, cause)."""
    candidate = _unquote(text.strip())
    if not candidate:
        return None, "no path given; enter the path of the Blender executable"
    if any(ord(ch) < 32 for ch in candidate):
        return None, "the path contains control characters (a NUL or a line break, for example)"
    try:
        size = len(os.fsencode(candidate))
    except UnicodeError:
        return None, "the path contains characters that cannot be part of a file name here"
    if size > MAX_PATH_BYTES:
        return None, f"the path is longer than {MAX_PATH_BYTES} bytes"
    shown = _shown(candidate)
    if not _has_folder(candidate):
        found = shutil.which(candidate)
        if found is None:
            return None, f"{shown} was not found on PATH; give the full path of the Blender executable"
        candidate = os.path.abspath(found)
    candidate = os.path.expanduser(candidate)
    if not os.path.isabs(candidate):
        return None, f"{shown} is not an absolute path; give the full path of the Blender executable"
    try:
        mode = os.stat(candidate).st_mode  # follows links: /usr/bin/blender often is one
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "it cannot be read"
        return None, f"{shown} was not found ({reason}); give the full path of the Blender executable"
    if not stat.S_ISREG(mode):
        return None, f"{shown} is not a file (a folder or a device, for example)"
    if not os.access(candidate, os.X_OK):
        return None, f"{shown} is not an executable file"
    return candidate, ""


async def find_blender() -> list[dict[str, Any]]:
    """Candidates from PATH and the usual install locations, each checked."""
    candidates: list[tuple[str, str]] = []
    seen: set[str] = set()
    on_path = shutil.which("blender")
    if on_path:
        candidates.append(("blender", "path_envvar"))
        seen.add(os.path.realpath(on_path))
    platform_key = "linux" if sys.platform.startswith("linux") else sys.platform
    for location in _DEFAULT_LOCATIONS.get(platform_key, []):
        if os.path.isfile(location) and os.path.realpath(location) not in seen:
            seen.add(os.path.realpath(location))
            candidates.append((location, "system_location"))
    return list(await asyncio.gather(*(check_blender(c, s) for c, s in candidates)))


async def setup_choice(blender: Any) -> str:
    """The Blender command the setup assistant saves for `blenderExecutable`; BadRequest when unusable.

    `file_association` and `default` save the plain name `blender`, which each worker looks up
    itself. A typed or found path is checked first, exactly as `check_blender` does, and is only
    saved when that check found a usable Blender.
    """
    if not isinstance(blender, dict):
        raise BadRequest("`blenderExecutable` must be an object {input, path, source}")
    source = blender.get("source")
    if source in ("file_association", "default"):
        return "blender"
    value = blender.get("input") if source == "path_envvar" else blender.get("path") or blender.get("input")
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("blenderExecutable needs the `path` (or `input`) of the Blender to use")
    checked = await check_blender(value, str(source))
    if not checked["is_usable"]:
        raise BadRequest(f"the Blender executable cannot be used: {checked['cause']}")
    bare = _unquote(value.strip())
    return bare if source == "path_envvar" and not _has_folder(bare) else checked["path"]


def _has_folder(path: str) -> bool:
    return os.sep in path or (os.altsep is not None and os.altsep in path) or path.startswith("~")


def _unquote(text: str) -> str:
    # Windows "Copy as path" wraps the path in double quotes; they are not part of the name.
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _shown(path: str) -> str:
    return repr(path if len(path) <= 200 else path[:200] + "…")


async def _version(exe: str) -> tuple[str | None, str]:
    """Run `exe --version` (nothing else) and return its `Blender x.y` line, or (None, cause)."""
    shown = _shown(exe)
    try:
        proc = await asyncio.create_subprocess_exec(
            exe, "--version", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=sys.platform != "win32")
    except (OSError, ValueError) as exc:
        return None, f"cannot run {shown}: {getattr(exc, 'strerror', None) or exc}"
    finished = False
    try:
        async with asyncio.timeout(VERSION_TIMEOUT_S):
            out = await _read_capped(proc.stdout)
            if len(out) < MAX_OUTPUT_BYTES:  # else it may be stuck writing to a full pipe
                await proc.wait()
                finished = True
    except TimeoutError:
        return None, f"{shown} --version did not finish within {VERSION_TIMEOUT_S:.0f} s"
    finally:
        if not finished:
            await _stop(proc)
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("Blender "):
            return line.strip(), ""
    return None, f"{shown} does not look like Blender (--version printed no 'Blender x.y' line)"


async def _read_capped(stream: asyncio.StreamReader | None) -> bytes:
    out = bytearray()
    while stream is not None and len(out) < MAX_OUTPUT_BYTES:
        chunk = await stream.read(MAX_OUTPUT_BYTES - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Kill the process and, on POSIX, what it started (its own session); then reap it."""
    _log.info("stopping blender check process %d", proc.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if sys.platform != "win32":
            os.killpg(proc.pid, signal.SIGKILL)
        elif proc.returncode is None:
            proc.kill()
    # Drain what is left in the pipe: a reader paused on a full buffer never sees the end of the
    # pipe, and asyncio's wait() can then wait for that end forever (seen with `yes`).
    with contextlib.suppress(TimeoutError, OSError, ValueError):
        async with asyncio.timeout(5):
            while proc.stdout is not None and await proc.stdout.read(1 << 16):
                pass
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await proc.wait()
