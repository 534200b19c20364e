"""Which Blender this worker renders with: `blender --version`, asked once per executable.

The executable is the one the last render ran (the Manager's `{blender}` may name a path), else
the worker's configured `blender_exe`, else `blender` on PATH. Its answer is kept until the file
changes (another path, size or modification time: an upgrade), so a report costs one `stat`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil

_log = logging.getLogger(__name__)

ASK_TIMEOUT_S = 30.0
_VERSION = re.compile(r"^Blender\s+(\d+\.\d+(?:\.\d+)?)", re.MULTILINE)


def parse_version(output: str) -> str | None:
    """"3.4.1" from `blender --version`'s "Blender 3.4.1" (the first line), or None."""
    match = _VERSION.search(output)
    return match.group(1) if match else None


class BlenderVersion:
    def __init__(self, configured: str = "", timeout_s: float = ASK_TIMEOUT_S) -> None:
        self.configured = configured
        self.timeout_s = timeout_s
        self._key: tuple[str, int, int] | None = None
        self._version: str | None = None
        self.asked = 0  # times Blender was run (tests)

    def executable(self, used: str = "") -> str | None:
        """The Blender to ask: `used` (the last render's), the configured one, or PATH's."""
        return used or self.configured or shutil.which("blender")

    async def get(self, used: str = "") -> str | None:
        """The version of the Blender this worker renders with; None when there is none or it does not say."""
        exe = self.executable(used)
        if not exe:
            return None
        try:
            st = os.stat(exe)
        except OSError:
            return None
        key = (os.path.realpath(exe), st.st_size, st.st_mtime_ns)
        if key != self._key:
            self._key, self._version = key, await self._ask(exe)
        return self._version

    async def _ask(self, exe: str) -> str | None:
        self.asked += 1
        try:
            proc = await asyncio.create_subprocess_exec(
                exe, "--version", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL)
        except OSError as exc:
            _log.info("cannot ask %s for its version: %s", exe, exc)
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                out, _ = await proc.communicate()
        except TimeoutError:
            _log.info("%s --version did not answer within %.0f s", exe, self.timeout_s)
            return None
        finally:
            if proc.returncode is None:  # timed out, or the worker is stopping: no Blender left behind
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        version = parse_version(out.decode("utf-8", errors="replace"))
        _log.info("rendering with Blender %s (%s)", version or "of unknown version", exe)
        return version
