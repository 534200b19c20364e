"""The worker's sandbox: its setting, whether bubblewrap works here, and the scratch folders.

`sandbox: auto` (the default) confines every Blender and FFmpeg where bubblewrap works and runs
them unconfined elsewhere, saying why once in the worker log and in every task log; `on` makes
a task fail, in words, when they cannot be confined; `off` never confines. Whether bubblewrap
works is probed once, on first use, by running `true` in a sandbox set up like the real ones.

Each sandboxed process gets a scratch folder as its `/tmp` (`<data_dir>/sandbox/<name>`), emptied
before it starts and after it ends; the folder itself stays, so the command line in the task log
can be pasted into a shell. One worker runs one task at a time, so one name per kind of process
(the task's program, the warm Blender) is enough.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from app.worker.bundled_ffmpeg import bundled_ffmpeg
from app.worker.config import WorkerConfig, default_config_path
from app.worker.sandbox import bwrap
from app.worker.sandbox.policy import Host, SandboxRefused, host_folders, plan_mounts
from app.worker.sandbox.spec import SandboxSpec

_log = logging.getLogger(__name__)

#: Home folders, hidden besides the user's own `$HOME`.
HOMES = ("/home", "/root")
#: `/run` holds sockets of system services (D-Bus, Docker) that a read-only mount leaves usable.
HIDDEN_FOLDERS = ("/run",)


class SandboxError(Exception):
    """The command cannot run the way the sandbox setting asks (the message says why and what to do)."""


class Sandbox:
    """Confinement of the programs one worker runs. Safe to share between the task runner and warm pool."""

    def __init__(self, config: WorkerConfig, *, platform: str = sys.platform):
        self.config = config
        self.mode = config.sandbox
        self._platform = platform
        self._bwrap = ""
        self._reason: str | None = None
        self._probed = False
        self._lock = asyncio.Lock()

    async def unavailable(self) -> str | None:
        """None when programs are confined; else why not. Probed once, and logged once."""
        async with self._lock:
            if not self._probed:
                self._reason = await self._probe()
                self._probed = True
                self._log_outcome()
        return self._reason

    async def _probe(self) -> str | None:
        if self.mode == "off":
            return "the worker setting sandbox is off"
        if not self._platform.startswith("linux"):
            return f"the sandbox needs Linux's bubblewrap and this is {self._platform}"
        found = shutil.which("bwrap")
        if found is None:
            return "bwrap was not found on PATH (install the bubblewrap package)"
        self._bwrap = found
        return await bwrap.probe(found)

    def _log_outcome(self) -> None:
        if self._reason is None:
            _log.info("sandbox: Blender and FFmpeg run confined by %s", self._bwrap)
        elif self.mode == "on":
            _log.error("sandbox: required (sandbox: on) but it cannot run: %s; tasks will fail", self._reason)
        elif self.mode == "auto":
            _log.warning("sandbox: Blender and FFmpeg run unconfined: %s", self._reason)
        else:
            _log.info("sandbox: off (worker setting)")

    async def prefix(self, spec: SandboxSpec, scratch: str, log: Callable[[str], None]) -> list[str]:
        """The command-line prefix that confines `spec`'s command; [] when it runs unconfined.

        Creates the folders to write into and empties the scratch folder `scratch`. Task-log lines
        (notes, refused paths, why it runs unconfined) go to `log`. Raises `SandboxError` when the
        setting is `on` and the sandbox cannot run, or when an output folder may not be writable.
        """
        reason = await self.unavailable()
        if reason is not None:
            if self.mode == "on":
                raise SandboxError(f"the sandbox cannot run: {reason} (the worker setting sandbox is on; "
                                   "set it to auto or off to render unconfined)")
            if self.mode == "auto":
                log(f"sandbox: not used: {reason}")
            return []
        # The scratch folder first: it makes the data folder, which must exist to be hidden.
        scratch_folder = str(self.reset_scratch(scratch))
        try:
            plan = plan_mounts(spec, self._host())
        except SandboxRefused as exc:
            raise SandboxError(str(exc)) from None
        for note in [*spec.notes, *plan.notes]:
            log(f"sandbox: {note}")
        for folder in spec.writable:
            try:
                Path(folder).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                why = exc.strerror or exc
                raise SandboxError(f"cannot create the output folder {folder}: {why}") from None
        return bwrap.prefix(self._bwrap, plan, scratch_folder)

    def scratch_folder(self, name: str) -> Path:
        return Path(os.path.abspath(self.config.data_dir)) / "sandbox" / name

    def reset_scratch(self, name: str) -> Path:
        """Empty (or create) the scratch folder `name`; its path."""
        folder = self.scratch_folder(name)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def _host(self) -> Host:
        cfg = self.config
        data_dir = os.path.abspath(cfg.data_dir)
        config_dir = str(default_config_path().parent)
        home = os.environ.get("HOME") or os.path.expanduser("~")
        return Host(
            homes=host_folders([home, *HOMES]),
            hidden=HIDDEN_FOLDERS,
            private=host_folders([data_dir, config_dir]),
            program_folders=host_folders(os.environ.get("PATH", "").split(os.pathsep)),
            configured_programs=(cfg.blender_exe, cfg.ffmpeg_exe, bundled_ffmpeg() or ""),
            python=sys.executable,
            python_prefixes=host_folders([sys.prefix, sys.base_prefix]),
            extra_readable=host_folders(cfg.sandbox_read_paths),
            config_home=os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
        )
