"""Job settings for a submission: parse `key=value` text by the setting's type, merge, check required.

Order of precedence for each setting of a job type: a value the user gave, else the value its
`eval` expression gives in Blender, else a value the scene implies (`SCENE_DEFAULTS`), else the
job type's default. The Manager validates again; this only catches mistakes before any upload.
"""

from __future__ import annotations

import logging
from typing import Any

from app.api.jobs import AvailableJobSetting, AvailableJobType
from app.submit.errors import InvalidSetting

_log = logging.getLogger(__name__)

# Settings without a default that a scene implies: setting key -> field of the scene info.
SCENE_DEFAULTS = {"render_output_root": "output_dir"}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_setting_value(setting: AvailableJobSetting, text: str) -> Any:
    """`text` as the setting's type (int32, float, bool, string); `InvalidSetting` names the setting."""
    kind = setting.type
    try:
        if kind == "int32":
            value: Any = int(text.strip(), 10)
            if not -(2**31) <= value < 2**31:
                raise ValueError
        elif kind == "float":
            value = float(text.strip())
        elif kind == "bool":
            lowered = text.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError
            value = lowered in _TRUE
        else:
            value = text
    except ValueError:
        expected = {"int32": "a whole number", "float": "a number", "bool": "true or false"}.get(kind, kind)
        raise InvalidSetting(setting.key, f"setting {setting.key!r} must be {expected}, not {text!r}") from None
    if setting.choices and value not in setting.choices:
        raise InvalidSetting(setting.key, f"setting {setting.key!r} must be one of "
                                          f"{', '.join(map(repr, setting.choices))}, not {value!r}")
    return value


def parse_assignments(job_type: AvailableJobType, assignments: list[str]) -> dict[str, Any]:
    """`["key=value", ...]` (the CLI's `--set`) to typed values; unknown keys and bad values raise."""
    by_key = {s.key: s for s in job_type.settings}
    values: dict[str, Any] = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidSetting(key, f"{item!r} is not KEY=VALUE")
        setting = by_key.get(key)
        if setting is None:
            raise InvalidSetting(key, f"job type {job_type.name!r} has no setting {key!r}; it has: "
                                      f"{', '.join(by_key)}")
        values[key] = parse_setting_value(setting, text)
    return values


def coerce_values(job_type: AvailableJobType, values: dict[str, Any]) -> dict[str, Any]:
    """Typed values from Python callers: strings are parsed, unknown keys refused."""
    by_key = {s.key: s for s in job_type.settings}
    out: dict[str, Any] = {}
    for key, value in values.items():
        setting = by_key.get(key)
        if setting is None:
            raise InvalidSetting(key, f"job type {job_type.name!r} has no setting {key!r}")
        out[key] = parse_setting_value(setting, value) if isinstance(value, str) else value
    return out


def initial_values(job_type: AvailableJobType, user: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with the user's values: what `settings` holds when `eval`s run."""
    values = {s.key: s.default for s in job_type.settings if s.default is not None}
    values.update(user)
    return values


def merge_settings(job_type: AvailableJobType, user: dict[str, Any], evaluated: dict[str, Any],
                   implied: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings to submit (see the module docstring for the precedence).

    `evaluated`: values of the `eval`s; `implied`: values the scene implies (`SCENE_DEFAULTS`).
    """
    implied = implied or {}
    out: dict[str, Any] = {}
    for setting in job_type.settings:
        key = setting.key
        if key in user:
            out[key] = user[key]
        elif key in evaluated:
            out[key] = evaluated[key]
        elif implied.get(key) not in (None, ""):
            out[key] = implied[key]
        elif setting.default is not None:
            out[key] = setting.default
    return out


def missing_required(job_type: AvailableJobType, settings: dict[str, Any]) -> list[str]:
    return [s.key for s in job_type.settings
            if s.required and (settings.get(s.key) is None or settings.get(s.key) == "")]


def check_required(job_type: AvailableJobType, settings: dict[str, Any]) -> None:
    missing = missing_required(job_type, settings)
    if missing:
        raise InvalidSetting(missing[0], f"setting {missing[0]!r} is required: give it with "
                                         f"--set {missing[0]}=VALUE")

