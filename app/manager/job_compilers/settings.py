"""Checking a submitted job's settings against its job type, before the script sees them.

Flamenco leaves `required`, `default` and `choices` to the submitting client; Tablao
enforces them on the Manager so a bad submission gets a clear 400 naming the setting,
instead of a confusing failure deep inside the script or on a worker. The rules:

- a missing (or null) setting gets the job type's `default`, when there is one;
- a `required` string setting that is empty (or only spaces) counts as missing: Flamenco's own
  add-on sends an unset string setting as `""`, and an empty `render_output_root` would otherwise
  put the frames in the worker's working folder;
- a `required` setting that is still missing is an error;
- present values must match the declared type: `string`; `int32` (a whole number in the
  signed 32-bit range, not a bool; a whole float such as 3.0 is accepted as 3); `float`
  (any finite number, not a bool); `bool`;
- a setting with `choices` must hold one of them;
- settings the job type does not declare are kept untouched (add-ons send extra keys).
"""

from __future__ import annotations

import math
from typing import Any

from app.api.limits import is_number
from app.manager.job_compilers.errors import InvalidJobSettings

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _check_type(key: str, kind: str, value: Any) -> Any:
    """Return `value` (normalised) if it fits `kind`, else raise InvalidJobSettings."""
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidJobSettings(key, f"must be a string, not {_describe(value)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidJobSettings(key, f"must be a boolean, not {_describe(value)}")
        return value
    if not is_number(value):
        wanted = "a whole number" if kind == "int32" else "a number"
        raise InvalidJobSettings(key, f"must be {wanted}, not {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidJobSettings(key, f"must be a finite number, not {value}")
    if kind == "float":
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidJobSettings(key, f"must be a whole number, not {value}")
        value = int(value)
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise InvalidJobSettings(key, f"must fit in 32 bits ({_INT32_MIN} to {_INT32_MAX}), not {value}")
    return value


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _describe(value: Any) -> str:
    names = {bool: "a boolean", int: "a whole number", float: "a number", str: "a string",
             list: "a list", dict: "an object", type(None): "null"}  # fmt: skip
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"[:120]


def validate_settings(definitions: list[dict[str, Any]], submitted: Any) -> dict[str, Any]:
    """Return the submitted settings with defaults filled in, checked against `definitions`.

    `definitions` are the AvailableJobSetting dicts of the job type. Raises
    `InvalidJobSettings` naming the first offending setting key.
    """
    if submitted is None:
        submitted = {}
    if not isinstance(submitted, dict):
        raise InvalidJobSettings("settings", "must be an object")
    result = dict(submitted)
    for definition in definitions:
        key = definition["key"]
        value = result.get(key)
        if definition.get("required") and _is_blank(value):
            value = None
        if value is None and definition.get("default") is not None:
            value = definition["default"]
        if value is None:
            if definition.get("required"):
                empty = _is_blank(result.get(key))
                raise InvalidJobSettings(key, "is required but empty" if empty else "is required but missing")
            result.pop(key, None)  # a null means "not given"; do not hand scripts a null
            continue
        value = _check_type(key, definition["type"], value)
        choices = definition.get("choices")
        if choices and value not in choices:
            raise InvalidJobSettings(key, f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
        result[key] = value
    return result
