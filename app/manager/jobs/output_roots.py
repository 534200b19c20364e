"""Where jobs may write: the output roots, and checking a job's commands against them.

Whoever may submit chooses a job's output path, and workers write frames (and ffmpeg's preview, and
the file commands' copies) wherever their user can. So a job is refused (400, in words) when one of
its commands would write outside the roots the Manager allows:

- the shared storage, always;
- `output_roots` from flamenco-manager.yaml when set (values may use variables, like `{render}`),
  else the values of the two-way variables (the folders the farm already maps between platforms);
- never inside the Shaman file store, whose files every job's checkout links to.

What a command writes is known per command type (`WRITTEN_PATHS`): Blender's `--render-output`
(a `//` path is relative to the blend file), ffmpeg's `outputFile`, the file commands' targets.
Paths are compared after their variables are expanded and their `..` collapsed, by whole components,
ignoring case where the platform does. The worker checks again before it writes (with the roots as
its platform sees them, sent with each task), and resolves links there, which the Manager cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.api.errors import BadRequest
from app.common import crosspath

SHAMAN_STORE = "file-store"


class OutputSettings(Protocol):
    shared_storage_path: str
    shaman_enabled: bool
    output_roots: list[str]


class PathVariables(Protocol):
    @property
    def manager_platform(self) -> str: ...

    def expand_path(self, text: str, platform: str) -> str: ...

    def shared_storage_for(self, audience: str, platform: str) -> str: ...

    def two_way_values(self, platform: str) -> list[str]: ...

    @property
    def generation(self) -> int: ...


@dataclass(frozen=True)
class Written:
    """One path a command writes to, and where in the command it was found."""

    path: str
    where: str


_RENDERS = frozenset({"-f", "--render-frame", "-a", "--render-anim"})


def _blender_args(params: Mapping[str, Any]) -> list[str]:
    args: list[str] = []
    exe_args = params.get("exeArgs")
    if isinstance(exe_args, str):
        args += exe_args.split()
    for key in ("argsBefore", "args"):
        value = params.get(key)
        if isinstance(value, list):
            args += [str(a) for a in value]
    return args


def renders_to_scene_path(command: Mapping[str, Any]) -> bool:
    """True for a Blender render that writes where the scene says (no `--render-output`)."""
    params = command.get("parameters")
    if command.get("name") != "blender-render" or not isinstance(params, Mapping):
        return False
    args = _blender_args(params)
    return bool(_RENDERS & set(args)) and not {"-o", "--render-output"} & set(args[:-1])


def _render_output(params: Mapping[str, Any]) -> list[Written]:
    args = _blender_args(params)
    found = []
    for i, arg in enumerate(args[:-1]):
        if arg in ("-o", "--render-output"):
            found.append(Written(args[i + 1], f"blender-render {arg}"))
    return found


def _params(*names: str) -> Callable[[Mapping[str, Any]], list[Written]]:
    def written(params: Mapping[str, Any]) -> list[Written]:
        return [Written(params[n], f"`{n}`") for n in names if isinstance(params.get(n), str) and params[n]]

    return written


#: Command name → the paths it writes. Commands not listed write nothing (echo, sleep).
WRITTEN_PATHS: dict[str, Callable[[Mapping[str, Any]], list[Written]]] = {
    "blender-render": _render_output,
    "frames-to-video": _params("outputFile"),
    "make-directory": _params("path"),
    "move-directory": _params("src", "dest"),
    "copy-file": _params("dest"),
    "copy-directory": _params("dest"),
}


def written_paths(command: Mapping[str, Any]) -> list[Written]:
    params = command.get("parameters")
    finder = WRITTEN_PATHS.get(str(command.get("name", "")))
    if finder is None or not isinstance(params, Mapping):
        return []
    found = finder(params)
    blendfile = params.get("blendfile")
    if isinstance(blendfile, str) and blendfile:
        # Blender reads `//` as "the folder of the blend file".
        found = [Written(blendfile.rsplit("/", 1)[0].rsplit("\\", 1)[0] + "/" + w.path[2:], w.where)
                 if w.path.startswith("//") else w for w in found]
    return found


def collapse(path: str, platform: str) -> str:
    """`path` with `.` and `..` worked out (never above its root), spelled for `platform`."""
    split = crosspath.split(path, platform)
    parts: list[str] = []
    for part in split.parts:
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return crosspath.join_split(crosspath.SplitPath(split.anchor, tuple(parts), split.style, False))


class OutputRoots:
    """The roots for each platform, from the live settings (they may change while the Manager runs)."""

    def __init__(self, settings: OutputSettings, variables: PathVariables):
        self.settings, self.variables = settings, variables
        self._memo: dict[tuple[Any, ...], tuple[list[str], list[str]]] = {}

    def roots(self, platform: str) -> list[str]:
        """The folders jobs may write under, as `platform` spells them."""
        return self._worked_out(platform)[0]

    def denied(self, platform: str) -> list[str]:
        """Folders under the roots that jobs must never write into."""
        return self._worked_out(platform)[1]

    def _worked_out(self, platform: str) -> tuple[list[str], list[str]]:
        """(roots, denied) for `platform`, worked out once per change of the settings or variables."""
        s = self.settings
        key = (platform, s.shared_storage_path, tuple(s.output_roots), s.shaman_enabled, self.variables.generation)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) > 64:
                self._memo.clear()
            found = self._memo[key] = (self._work_out_roots(platform), self._work_out_denied(platform))
        return found

    def _work_out_roots(self, platform: str) -> list[str]:
        found: list[str] = []
        shared = self.settings.shared_storage_path
        if shared:
            found.append(self.variables.shared_storage_for("workers", platform))
        if self.settings.output_roots:
            found += [self.variables.expand_path(r, platform) for r in self.settings.output_roots]
        else:
            found += self.variables.two_way_values(platform)
        return _unique(collapse(r, platform) for r in found if crosspath.is_absolute(r, platform))

    def _work_out_denied(self, platform: str) -> list[str]:
        if not (self.settings.shaman_enabled and self.settings.shared_storage_path):
            return []
        shared = self.variables.shared_storage_for("workers", platform)
        return [collapse(crosspath.join_platform(shared, SHAMAN_STORE, platform), platform)]

    def refusal(self, path: str, platform: str) -> str | None:
        """Why `path` may not be written to on `platform`; None when it may."""
        if not crosspath.is_absolute(path, platform):
            return "it is not an absolute path"
        clean = collapse(path, platform)
        for denied in self.denied(platform):
            if crosspath.is_under(clean, denied, platform):
                return f"it is inside the Shaman file store ({denied}), which every job's files link to"
        roots = self.roots(platform)
        if any(crosspath.is_under(clean, root, platform) for root in roots):
            return None
        allowed = ", ".join(roots) if roots else "none yet: the Manager has no shared storage set up"
        return f"it is outside the folders this Manager lets jobs write to ({allowed})"

    def check_tasks(self, tasks: Iterable[Any]) -> None:
        """Raise 400 naming the first path a task would write where it may not (Manager's platform)."""
        platform = self.variables.manager_platform
        seen: set[str] = set()
        for task in tasks:
            for command in task.commands:
                if renders_to_scene_path(command):
                    raise BadRequest(
                        f"task {task.name!r} renders with Blender to the output path stored in the scene, "
                        "which the Manager cannot check; the job type must give blender-render a "
                        "--render-output under the shared storage")
                for written in written_paths(command):
                    if written.path in seen:  # every task of a render writes to the same pattern
                        continue
                    seen.add(written.path)
                    expanded = self.variables.expand_path(written.path, platform)
                    why = self.refusal(expanded, platform)
                    if why is not None:
                        raise BadRequest(
                            f"task {task.name!r} would write to {expanded} ({written.where}), but {why}. "
                            "Choose an output folder under the shared storage, or ask the farm's admin to "
                            "add yours to `output_roots` in flamenco-manager.yaml")


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
