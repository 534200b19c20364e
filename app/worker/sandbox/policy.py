"""Which paths a sandboxed program may read and write, and in which order the folders are mounted.

The whole filesystem is readable and nothing is writable; hidden folders (home folders, `/run`,
the worker's data and config folders) are replaced by empty ones and `/tmp` by the run's scratch
folder. A path the command needs gets bound back only when it lies in one of those, and only when
that cannot open the secrets the hiding is for, because the job, and so whoever submitted it,
chooses these paths:

- A job-named path is never bound back when it lies in the worker's own data or config folder,
  below a dot-folder of a hidden folder (`~/.ssh`, `~/.config`), or when it is, or holds, a hidden
  folder itself (a blend file right in the home folder gets only the file bound, not the home).
- The blend file's folder is bound only when the file starts like a .blend file, so a job cannot
  open a home folder by naming any file in it.
- A folder to write into must not be or hold a hidden folder, lie below a dot-folder of one, or
  lie in a system folder (`/etc`, `/usr`, ...) or a folder holding programs (on PATH, or the
  program run): the task fails, saying so, rather than run with that folder writable.
- Programs the worker's owner chose (`blender_exe`, `ffmpeg_exe`, found on PATH, the FFmpeg the
  bundled program carries), their settings folder in the owner's config folder (read-only: Blender's
  GPU choice and add-ons), the worker's own files and the `sandbox_read_paths` setting are bound back
  without those checks.

Refused reads become task-log notes (the program then fails on the missing file); a refused write
raises `SandboxRefused`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.worker.sandbox.spec import SandboxSpec

#: Never writable, whatever the job says.
SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
                  "/sbin", "/sys", "/usr", "/var/lib", "/var/spool", "/var/cache", "/var/log", "/var/mail")
SCRATCH_MOUNT = "/tmp"
#: A Shaman blob: `<store>/stored/<2 hex>/<hex>/<size>.blob`; a checkout's links point there.
_SHAMAN_BLOB = re.compile(r"^(?P<stored>.*/stored)/[0-9a-f]{2}/[0-9a-f]+/\d+\.blob$")
#: Uncompressed, gzip (before Blender 3.0) and zstd (3.0 on) blend files.
_BLEND_MAGIC = (b"BLENDER", b"\x1f\x8b", b"\x28\xb5\x2f\xfd")

# Mount kinds, in the order they are applied to one path.
HIDE, SCRATCH, RO, RW = "hide", "scratch", "ro", "rw"
_KIND_ORDER = {SCRATCH: 0, HIDE: 0, RO: 1, RW: 2}


class SandboxRefused(Exception):
    """A folder the command must write into may not be made writable (the message says why)."""


@dataclass(frozen=True)
class Host:
    """What the sandbox hides and protects on this machine."""

    #: Home folders: replaced by empty ones, and never bound back whole (their dot-folders hold
    #: the keys and credentials the sandbox is for).
    homes: tuple[str, ...]
    #: Other folders replaced by empty ones (besides `/tmp`, replaced by the scratch folder).
    hidden: tuple[str, ...] = ()
    #: The worker's own folders: hidden, never bound back for a job, never writable.
    private: tuple[str, ...] = ()
    #: Folders holding programs (PATH); with the system folders, never writable.
    program_folders: tuple[str, ...] = ()
    #: Programs the worker's owner configured (and the bundle's FFmpeg); with anything on PATH,
    #: trusted to read.
    configured_programs: tuple[str, ...] = ()
    #: The worker's own Python and its installation folders: trusted as a program (test doubles
    #: of Blender run on it).
    python: str = ""
    python_prefixes: tuple[str, ...] = ()
    #: The `sandbox_read_paths` setting.
    extra_readable: tuple[str, ...] = ()
    #: The user's config folder (`$XDG_CONFIG_HOME`, `~/.config`), where programs keep settings.
    config_home: str = ""


@dataclass
class MountPlan:
    """Mounts over the read-only root, in order: (kind, path); plus lines for the task log."""

    mounts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def _forms(path: str) -> list[str]:
    """The path as given and, when a link leads elsewhere, where it really is."""
    given = os.path.normpath(path)
    real = os.path.realpath(given)
    return [given] if real == given else [given, real]


def looks_like_blend(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return head.startswith(_BLEND_MAGIC)


class _Planner:
    def __init__(self, host: Host):
        self.host = host
        hidden = {SCRATCH_MOUNT: SCRATCH}
        for folder in [*host.homes, *host.hidden, *host.private]:
            for form in _forms(folder):
                hidden.setdefault(form, HIDE)
        self.hidden = hidden
        self.homes = {form for p in host.homes for form in _forms(p)}
        self.private = {form for p in host.private for form in _forms(p)}
        self.plan = MountPlan()
        self.program_folders = set(host.program_folders)
        self._wanted: dict[str, str] = {}

    def hidden_root(self, path: str) -> str | None:
        """The deepest hidden folder holding `path`, None when it is visible as it is."""
        roots = [root for root in self.hidden if is_under(path, root)]
        return max(roots, key=len) if roots else None

    def read_refusal(self, path: str) -> str | None:
        """Why a job-named path may not be bound back, None when it may."""
        root = self.hidden_root(path)
        for private in self.private:
            if is_under(path, private):
                return f"it lies in the worker's own folder {private}"
        # Hidden folders inside a bound folder are hidden again (mounted after it), except home
        # folders: those are hidden as a whole, not folder by folder.
        for hidden in self.hidden:
            if path == hidden or (hidden in self.homes and is_under(hidden, path)):
                return f"it is or holds the hidden folder {hidden}"
        if root is not None:
            rest = os.path.relpath(path, root).split(os.sep)
            for i, part in enumerate(rest):
                if part.startswith(".") and part not in (".", ".."):
                    return f"it lies in the dot-folder {os.path.join(root, *rest[:i + 1])}"
        return None

    def want(self, kind: str, path: str) -> None:
        if self._wanted.get(path) != RW:
            self._wanted[path] = kind

    def read(self, path: str, *, trusted: bool = False, fallback: str = "", hint: str = "") -> None:
        """Bind `path` back read-only where it is hidden; else `fallback` (a file inside it)."""
        for form in _forms(path):
            if self.hidden_root(form) is None or not os.path.exists(form):
                continue  # visible as it is, or missing (the program says so)
            why = None if trusted and not self._is_hidden_root(form) else self.read_refusal(form)
            if why is None:
                self.want(RO, form)
            elif fallback:
                self.read(fallback, trusted=trusted, hint=hint)
            else:
                self.plan.notes.append(f"not making {form} readable: {why}{hint}")

    def _is_hidden_root(self, path: str) -> bool:
        return any(path == hidden or (hidden in self.homes and is_under(hidden, path))
                   for hidden in self.hidden)

    def write(self, folder: str) -> None:
        for form in _forms(folder):
            if why := self.write_refusal(form):
                raise SandboxRefused(f"the sandbox does not make {form} writable: {why}; write into a "
                                     "folder of its own, or set `sandbox: off` on this worker")
            self.want(RW, form)

    def write_refusal(self, path: str) -> str | None:
        if path == "/":
            return "it is the root folder"
        for system in SYSTEM_FOLDERS:
            if is_under(path, system) or is_under(system, path):
                return f"it is, holds or lies in the system folder {system}"
        for folder in self.program_folders:
            if is_under(path, folder) or is_under(folder, path):
                return f"it is, holds or lies in {folder}, a folder of programs"
        return self.read_refusal(path)

    def mounts(self) -> list[tuple[str, str]]:
        """Hidden folders and binds, parents first, without binds that change nothing."""
        ops = [(kind, path) for path, kind in self.hidden.items() if kind == SCRATCH or os.path.isdir(path)]
        ops += [(kind, path) for path, kind in self._wanted.items()]
        ops.sort(key=lambda op: (op[1].count("/") if op[1] != "/" else 0, _KIND_ORDER[op[0]], op[1]))
        kept: list[tuple[str, str]] = []
        for kind, path in ops:
            above = [(k, p) for k, p in kept if is_under(path, p)]
            nearest = max(above, key=lambda op: len(op[1]))[0] if above else RO
            if (kind == RO and nearest in (RO, RW)) or (kind == RW and nearest == RW):
                continue
            kept.append((kind, path))
        return kept


def plan_mounts(spec: SandboxSpec, host: Host) -> MountPlan:
    """The mounts that give `spec`'s command what it needs on `host`; raises `SandboxRefused`."""
    planner = _Planner(host)
    for program in spec.programs:
        _read_program(planner, program)
    if spec.blendfile:
        _read_blend(planner, spec.blendfile)
    for path in [*spec.readable, *spec.farm_roots]:
        planner.read(path)
    for path in [*spec.trusted, *host.extra_readable]:
        if os.path.exists(path):
            planner.read(path, trusted=True)
    if spec.user_settings and host.config_home:
        _read_settings(planner, os.path.join(host.config_home, spec.user_settings))
    for folder in spec.writable:
        planner.write(folder)
    planner.plan.mounts = planner.mounts()
    return planner.plan


def _read_settings(planner: _Planner, folder: str) -> None:
    """The program's own settings folder, read-only: the worker's owner chose those settings (the GPU
    to render on, add-ons), as they chose the program, so a render sees what it sees unconfined."""
    if not os.path.isdir(folder) or planner.hidden_root(folder) is None:
        return
    planner.read(folder, trusted=True)
    planner.plan.notes.append(f"{folder} is readable, not writable: the program's settings (add-ons, the "
                              "GPU to render on) apply as outside the sandbox")


def _read_program(planner: _Planner, program: str) -> None:
    """The program's folder (a Blender unpacked from its archive keeps its data beside it)."""
    host = planner.host
    forms = _forms(program)
    configured = {form for p in host.configured_programs if p for form in _forms(p)}
    python = bool(host.python) and os.path.realpath(host.python) == forms[-1]
    trusted = python or bool(configured & set(forms)) or os.path.dirname(program) in host.program_folders
    hint = "" if trusted else " (programs named in the worker settings or found on PATH are trusted)"
    for form in forms:
        planner.program_folders.add(os.path.dirname(form))
        planner.read(os.path.dirname(form), trusted=trusted, fallback=form, hint=hint)
    for prefix in host.python_prefixes if python else ():
        planner.read(prefix, trusted=True)


def _read_blend(planner: _Planner, blendfile: str) -> None:
    """The blend file's folder, the one behind a link, and a Shaman checkout's whole store."""
    forms = _forms(blendfile)
    if not any(planner.hidden_root(f) or planner.hidden_root(os.path.dirname(f)) for f in forms):
        return
    real = forms[-1]
    if not looks_like_blend(real):
        why = "it is not a .blend file" if os.path.exists(real) else "it does not exist"
        planner.plan.notes.append(f"not making the folder of {blendfile} readable: {why}")
        return
    for form in forms:
        planner.read(os.path.dirname(form), fallback=form)
    if match := _SHAMAN_BLOB.match(real):
        planner.read(match.group("stored"))


def host_folders(paths: Iterable[str]) -> tuple[str, ...]:
    """Absolute, normalised, without duplicates."""
    return tuple(dict.fromkeys(os.path.normpath(p) for p in paths if p and os.path.isabs(p)))
