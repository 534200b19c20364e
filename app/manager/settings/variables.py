"""Manager variables: parsing, validation, resolution and replacement.

This module owns the `variables:` section of `flamenco-manager.yaml` and the
three places where variables touch paths:

- at submission, two-way values in job settings/metadata become `{name}`
  (`Variables.replace_two_way_on_submit`), so a job stores platform-neutral
  paths;
- at hand-out, `{name}` in task commands becomes the value for the Worker's
  platform (`Variables.expand_for_worker`);
- the shared storage path as seen from another platform
  (`Variables.shared_storage_for`), for the add-on and the setup wizard.

The YAML layout is Flamenco's::

    variables:
      my_storage:
        is_twoway: true
        values:
          - {platform: linux, value: /media/shared/flamenco}
          - {platforms: [windows], audience: workers, value: 'S:\\flamenco'}

Besides the configured variables there is the implicit one-way `jobs`, the
effective job storage. It is never written back to the file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.api.errors import BadRequest, NotFound
from app.api.limits import is_number
from app.api.meta import VARIABLE_AUDIENCES, ManagerVariable
from app.common import crosspath

_log = logging.getLogger(__name__)

AUDIENCES = VARIABLE_AUDIENCES
PLATFORM_ALL = "all"
JOBS_VARIABLE = "jobs"

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_NAME_HELP = 'use letters, digits, "_" and "-", starting with a letter or "_"'
_KNOWN_VALUE_KEYS = frozenset({"platform", "platforms", "audience", "value"})


class InvalidVariables(BadRequest):
    """One or more variable definitions are wrong; `problems` lists each one,
    every message naming its variable."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class VariableValue:
    """One value of a variable, for some platforms and an audience."""

    value: str
    platforms: tuple[str, ...]
    audience: str = "all"

    def rank(self, audience: str, platform: str) -> int:
        """How well this value fits; -1 when it does not apply at all.

        A platform-specific value beats a `platform: all` one, and among equal
        platforms an audience-specific value beats `audience: all`.
        """
        if self.audience != "all" and self.audience != audience:
            return -1
        audience_bonus = 1 if self.audience != "all" else 0
        if platform in self.platforms:
            return 2 + audience_bonus
        if PLATFORM_ALL in self.platforms:
            return audience_bonus
        return -1

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if len(self.platforms) == 1:
            out["platform"] = self.platforms[0]
        else:
            out["platforms"] = list(self.platforms)
        if self.audience != "all":
            out["audience"] = self.audience
        out["value"] = self.value
        return out


@dataclass(frozen=True)
class Variable:
    name: str
    is_twoway: bool
    values: tuple[VariableValue, ...]

    def value_for(self, audience: str, platform: str) -> str | None:
        """The best value for an already normalised audience and platform.

        Ties go to the value listed first.
        """
        best: VariableValue | None = None
        best_rank = -1
        for candidate in self.values:
            rank = candidate.rank(audience, platform)
            if rank > best_rank:
                best, best_rank = candidate, rank
        return best.value if best else None

    def to_yaml(self) -> dict[str, Any]:
        return {"is_twoway": self.is_twoway, "values": [v.to_yaml() for v in self.values]}


# ---------------------------------------------------------------- parsing


def parse_variable(name: str, definition: Any) -> Variable:
    """Build one variable from its YAML/JSON definition, or raise InvalidVariables."""
    problems: list[str] = []
    variable = _parse_variable(name, definition, problems)
    if problems or variable is None:
        raise InvalidVariables(problems or [f'variable "{name}" is invalid'])
    return variable


def parse_variables(definitions: Mapping[str, Any] | None) -> dict[str, Variable]:
    """Build all variables, reporting every problem at once.

    A variable named `jobs` is dropped with a warning: that name belongs to the
    implicit job-storage variable. JSON from the API was typed by its request
    model (`app.api.meta.TablaoVariables`) first: there a value is a string,
    while in YAML `value: 8` is the text "8".
    """
    if definitions is None:
        return {}
    if not isinstance(definitions, Mapping):
        raise InvalidVariables(["variables must be a mapping from name to definition"])
    problems: list[str] = []
    result: dict[str, Variable] = {}
    for name, definition in definitions.items():
        if name == JOBS_VARIABLE:
            _log.warning('dropping variable "jobs": the name is reserved for the job storage path')
            continue
        variable = _parse_variable(str(name), definition, problems)
        if variable is not None:
            result[variable.name] = variable
    if problems:
        raise InvalidVariables(problems)
    _warn_about_duplicates(result.values())
    return result


def validate_variables(definitions: Mapping[str, Any] | None) -> list[str]:
    """Every problem in `definitions`, for live feedback in an editor; empty when valid."""
    try:
        parse_variables(definitions)
    except InvalidVariables as exc:
        return exc.problems
    return []


def _parse_variable(name: str, definition: Any, problems: list[str]) -> Variable | None:
    where = f'variable "{name}"'
    if not _NAME_RE.match(name):
        problems.append(f"{where}: bad name; {_NAME_HELP}")
        return None
    if not isinstance(definition, Mapping):
        problems.append(f"{where}: must be a mapping with is_twoway and values")
        return None
    is_twoway = definition.get("is_twoway", False)
    if not isinstance(is_twoway, bool):
        problems.append(f"{where}: is_twoway must be true or false, not {is_twoway!r}")
        return None
    raw_values = definition.get("values")
    if not isinstance(raw_values, list) or not raw_values:
        problems.append(f"{where}: needs a non-empty list of values")
        return None
    count = len(problems)
    values = [
        _parse_value(f"{where}, value #{i}", raw, is_twoway, problems)
        for i, raw in enumerate(raw_values, 1)
    ]
    if len(problems) > count:
        return None
    return Variable(name, is_twoway, tuple(v for v in values if v is not None))


def _parse_value(where: str, raw: Any, is_twoway: bool, problems: list[str]) -> VariableValue | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a mapping with platform, audience and value")
        return None
    unknown = set(raw) - _KNOWN_VALUE_KEYS
    if unknown:
        _log.warning("%s: ignoring unknown keys %s", where, ", ".join(sorted(map(str, unknown))))
    value = _parse_text(where, raw.get("value"), problems)
    platforms = _parse_platforms(where, raw, problems)
    audience = _parse_audience(where, raw.get("audience"), problems)
    if value is None or platforms is None or audience is None:
        return None
    if is_twoway:
        # A trailing separator would make `{var}/rest` expand to `value//rest`.
        value = crosspath.trim_trailing_separators(value)
    return VariableValue(value, platforms, audience)


def _parse_text(where: str, raw: Any, problems: list[str]) -> str | None:
    if isinstance(raw, str):
        return raw
    if is_number(raw):
        return str(raw)  # `value: 8` in YAML means the text "8".
    if raw is None:
        problems.append(f"{where}: has no value")
    else:
        problems.append(f"{where}: value must be text, not {raw!r} (quote it in YAML)")
    return None


def _parse_platforms(where: str, raw: Mapping[str, Any], problems: list[str]) -> tuple[str, ...] | None:
    names: list[Any] = []
    if raw.get("platform") is not None:
        names.append(raw["platform"])
    extra = raw.get("platforms")
    if extra is not None:
        if not isinstance(extra, list):
            problems.append(f"{where}: platforms must be a list, like [linux, darwin]")
            return None
        names.extend(extra)
    if not names:
        problems.append(f'{where}: has no platform; set platform or platforms ("all" for every platform)')
        return None
    result: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}: platform names must be non-empty text, not {name!r}")
            return None
        platform = crosspath.normalise_platform(name)
        if platform == crosspath.MANAGER:
            problems.append(
                f'{where}: "manager" is not a platform here; name the OS (linux, windows, darwin)'
            )
            return None
        if platform not in result:
            result.append(platform)
    return tuple(result)


def _parse_audience(where: str, raw: Any, problems: list[str]) -> str | None:
    if raw is None:
        return "all"
    audience = raw.strip().lower() if isinstance(raw, str) else raw
    if audience not in AUDIENCES:
        problems.append(f"{where}: audience {raw!r} is not one of {', '.join(AUDIENCES)}")
        return None
    return audience


def _warn_about_duplicates(variables: Iterable[Variable]) -> None:
    for variable in variables:
        seen: set[tuple[str, str]] = set()
        for value in variable.values:
            for platform in value.platforms:
                key = (platform, value.audience)
                if key in seen:
                    _log.warning(
                        'variable "%s" has several values for platform %s, audience %s; the first one wins',
                        variable.name,
                        platform,
                        value.audience,
                    )
                seen.add(key)


# ---------------------------------------------------------------- the facade


class Variables:
    """The Manager's variables plus the implicit `jobs`, and what is done with them.

    Build it once from the configuration; the dashboard's editor changes it
    through `set_variable`, `delete_variable` and `update_from_api`, which
    validate before touching anything. Per-platform expanders are cached and
    dropped on every change.
    """

    def __init__(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        shared_storage_path: str = "",
        shaman_enabled: bool = False,
        manager_platform: str | None = None,
    ):
        self._manager_platform = crosspath.resolve_platform(manager_platform or crosspath.current_platform())
        self._user_vars = parse_variables(variables)
        self._shared_storage_path = shared_storage_path
        self._shaman_enabled = shaman_enabled
        self._all: dict[str, Variable] = {}
        self._expanders: dict[str, crosspath.PathExpander] = {}
        self._submit_prefixes: dict[str, list[tuple[str, str]]] = {}
        self._rebuild()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], manager_platform: str | None = None) -> Variables:
        """Build from a whole `flamenco-manager.yaml` mapping."""
        platform = crosspath.resolve_platform(manager_platform or crosspath.current_platform())
        shaman = config.get("shaman") or {}
        # Flamenco's default: Shaman on, except on Windows where links need privileges.
        shaman_default = platform != crosspath.WINDOWS
        return cls(
            config.get("variables"),
            shared_storage_path=str(config.get("shared_storage_path") or ""),
            shaman_enabled=bool(shaman.get("enabled", shaman_default)),
            manager_platform=platform,
        )

    # ------------------------------------------------------------ state

    @property
    def manager_platform(self) -> str:
        return self._manager_platform

    @property
    def shared_storage_path(self) -> str:
        return self._shared_storage_path

    @property
    def shaman_enabled(self) -> bool:
        return self._shaman_enabled

    def names(self) -> list[str]:
        """All variable names, `jobs` included when there is a shared storage."""
        return list(self._all)

    def get(self, name: str) -> Variable | None:
        return self._all.get(name)

    def _rebuild(self) -> None:
        self.generation = getattr(self, "generation", 0) + 1  # anything derived from them is stale now
        self._all = dict(self._user_vars)
        jobs = self._jobs_variable()
        if jobs is not None:
            self._all[JOBS_VARIABLE] = jobs
        self._expanders.clear()
        self._submit_prefixes.clear()

    def _jobs_variable(self) -> Variable | None:
        shared = self._shared_storage_path
        if not shared:
            return None  # First run: there is no storage to point at yet.
        path = crosspath.trim_trailing_separators(shared)
        if self._shaman_enabled:
            path = crosspath.join_platform(path, "jobs", self._manager_platform)
        return Variable(JOBS_VARIABLE, False, (VariableValue(path, (PLATFORM_ALL,)),))

    # ------------------------------------------------------------ editing

    def set_shared_storage(self, shared_storage_path: str, shaman_enabled: bool) -> None:
        """Follow a change of storage settings (the implicit `jobs` depends on them)."""
        self._shared_storage_path = shared_storage_path
        self._shaman_enabled = shaman_enabled
        self._rebuild()

    def set_variable(self, name: str, definition: Mapping[str, Any]) -> Variable:
        """Create or replace one variable from `{is_twoway, values}`; validated first."""
        if name == JOBS_VARIABLE:
            raise InvalidVariables(['variable "jobs": the name is reserved for the job storage path'])
        variable = parse_variable(name, definition)
        self._user_vars[name] = variable
        self._rebuild()
        _log.info("set variable %s", name)
        return variable

    def delete_variable(self, name: str) -> None:
        if name not in self._user_vars:
            raise NotFound(f'there is no variable "{name}"')
        del self._user_vars[name]
        self._rebuild()
        _log.info("deleted variable %s", name)

    def update_from_api(self, variables: Mapping[str, Any]) -> None:
        """Replace all variables at once (the editor's "save"); nothing changes on error."""
        self._user_vars = parse_variables(variables)
        self._rebuild()
        _log.info("replaced variables, now %d", len(self._user_vars))

    def to_yaml_dict(self) -> dict[str, Any]:
        """The `variables:` section to write back; never contains `jobs`."""
        return {name: var.to_yaml() for name, var in self._user_vars.items()}

    # ------------------------------------------------------------ resolving

    def _platform(self, platform: str) -> str:
        return crosspath.resolve_platform(platform, self._manager_platform)

    def value_for(self, name: str, audience: str, platform: str) -> str | None:
        variable = self._all.get(name)
        if variable is None:
            return None
        return variable.value_for(_audience(audience), self._platform(platform))

    def resolve(self, audience: str, platform: str) -> dict[str, dict[str, Any]]:
        """`{name: {"value", "is_twoway"}}` for everything with a value for that pair (Flamenco's
        `ManagerVariables`, each one an `app.api` `ManagerVariable`)."""
        audience, platform = _audience(audience), self._platform(platform)
        out: dict[str, dict[str, Any]] = {}
        for name, variable in self._all.items():
            value = variable.value_for(audience, platform)
            if value is not None:
                out[name] = ManagerVariable(is_twoway=variable.is_twoway, value=value).to_json()
        return out

    def shared_storage_for(self, audience: str, platform: str) -> str:
        """The shared storage path as `platform` sees it, through two-way variables.

        Unchanged when no two-way variable covers it (then every platform is
        assumed to use the same path).
        """
        return self.translate_path(self._shared_storage_path, audience, "manager", platform)

    def translate_path(self, path: str, audience: str, from_platform: str, to_platform: str) -> str:
        """Rewrite the longest two-way prefix of `path` from one platform's value to another's."""
        audience = _audience(audience)
        source, target = self._platform(from_platform), self._platform(to_platform)
        best: tuple[int, str, str] | None = None
        for variable in self._two_way():
            prefix = variable.value_for(audience, source)
            replacement = variable.value_for(audience, target)
            if prefix is None or replacement is None:
                continue
            rest = crosspath.relative_to(path, prefix, source)
            depth = len(crosspath.split(prefix, source).parts)
            if rest is not None and (best is None or depth > best[0]):
                best = (depth, replacement, rest)
        if best is None:
            return path
        return crosspath.join_platform(best[1], best[2], target)

    def expand_path(self, text: str, platform: str) -> str:
        """`text` expanded for the workers of `platform`, as a task's command parameter would be."""
        return self._expander(self._platform(platform)).expand_value(text)

    def two_way_values(self, platform: str) -> list[str]:
        """The values of the two-way variables for the workers of `platform`."""
        values = (v.value_for("workers", self._platform(platform)) for v in self._two_way())
        return [v for v in values if v]

    def _two_way(self) -> list[Variable]:
        return [v for v in self._all.values() if v.is_twoway]

    # ------------------------------------------------------------ submission

    def replace_two_way_on_submit(self, values: Mapping[str, Any], submitter_platform: str) -> dict[str, Any]:
        """Copy of `values` where top-level strings under a two-way value become `{name}/rest`.

        The submitter platform's values for audience `workers` are the
        prefixes; the longest one wins and must match whole path components,
        ignoring case where that platform does. The rest keeps its text but
        gets forward slashes, the Manager's neutral form.
        """
        platform = self._platform(submitter_platform)
        prefixes = self._prefixes_for_submit(platform)
        out = dict(values)
        if not prefixes:
            return out
        for key, value in values.items():
            if isinstance(value, str):
                out[key] = _replace_prefix(value, prefixes, platform)
        return out

    def _prefixes_for_submit(self, platform: str) -> list[tuple[str, str]]:
        cached = self._submit_prefixes.get(platform)
        if cached is not None:
            return cached
        found = []
        for variable in self._two_way():
            prefix = variable.value_for("workers", platform)
            if prefix:
                depth = len(crosspath.split(prefix, platform).parts)
                found.append((depth, variable.name, prefix))
        found.sort(key=lambda item: -item[0])  # Deepest prefix first: longest match wins.
        prefixes = [(name, prefix) for _, name, prefix in found]
        self._submit_prefixes[platform] = prefixes
        return prefixes

    # ------------------------------------------------------------ hand-out

    def expand_for_worker(
        self, commands: Sequence[Mapping[str, Any]], worker_platform: str
    ) -> list[dict[str, Any]]:
        """Deep copy of `commands` with variables expanded in their parameters.

        Strings anywhere in `parameters` (also inside lists and mappings) are
        expanded for audience `workers` on `worker_platform`: one-way values,
        then two-way values, then paths that start with a two-way variable's
        Manager-platform value are moved to the Worker's; the separators of
        paths touched by two-way variables follow the Worker's platform. See
        `crosspath.PathExpander` for the details.
        """
        expander = self._expander(self._platform(worker_platform))
        return [_expand_command(expander, command) for command in commands]

    def _expander(self, platform: str) -> crosspath.PathExpander:
        expander = self._expanders.get(platform)
        if expander is None:
            expander = self._build_expander(platform)
            self._expanders[platform] = expander
        return expander

    def _build_expander(self, platform: str) -> crosspath.PathExpander:
        one_way: dict[str, str] = {}
        two_way: dict[str, str] = {}
        rewrites: list[tuple[str, str]] = []
        for variable in self._all.values():
            value = variable.value_for("workers", platform)
            if value is None:
                continue
            if not variable.is_twoway:
                one_way[variable.name] = value
                continue
            two_way[variable.name] = value
            manager_value = variable.value_for("workers", self._manager_platform)
            if manager_value:
                rewrites.append((manager_value, value))
        return crosspath.PathExpander(one_way, two_way, rewrites, platform, self._manager_platform)


def _audience(audience: str) -> str:
    folded = audience.strip().lower()
    if folded not in AUDIENCES:
        raise BadRequest(f"unknown audience {audience!r}; use workers or users")
    return folded


def _replace_prefix(value: str, prefixes: list[tuple[str, str]], platform: str) -> str:
    for name, prefix in prefixes:
        rest = crosspath.relative_to(value, prefix, platform)
        if rest is None:
            continue
        if rest:
            return f"{{{name}}}/{rest}"
        # The value is the prefix itself; keep a trailing separator if it had one.
        trailing = value.endswith(("/", "\\")) and not prefix.endswith(("/", "\\"))
        return f"{{{name}}}/" if trailing else f"{{{name}}}"
    return value


def _expand_command(expander: crosspath.PathExpander, command: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(command)
    parameters = command.get("parameters")
    if isinstance(parameters, Mapping):
        out["parameters"] = {key: expander.expand_value(value) for key, value in parameters.items()}
    return out
