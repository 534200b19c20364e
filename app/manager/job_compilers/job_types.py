"""Turning a script's `JOB_TYPE` object into an AvailableJobType, and its etag.

Owns the wire shape `{name, label, description?, settings: [AvailableJobSetting], etag}`
and the checks on a job type definition. Fields outside Flamenco's schema are dropped,
because clients generated from the OpenAPI document may reject unknown ones.

The etag is the SHA1 (hex) of the canonical JSON of the AvailableJobType without its
`etag` field (sorted keys, compact separators). It changes when the label, description or
any setting changes; an edit to `compileJob()` alone leaves it alone, as in Flamenco.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

SETTING_TYPES = ("string", "int32", "float", "bool")
SETTING_SUBTYPES = ("file_path", "dir_path", "file_name", "hashed_file_path")
SETTING_VISIBILITIES = ("visible", "hidden", "submission", "web")
_SETTING_FIELDS = (
    "key", "type", "subtype", "choices", "propargs", "description", "label", "default",
    "eval", "evalInfo", "visible", "required", "editable",
)  # fmt: skip


class JobTypeDefinitionError(ValueError):
    """The script's JOB_TYPE object is not a usable job type definition."""


def compute_etag(job_type: dict[str, Any]) -> str:
    """SHA1 hex of the canonical JSON of `job_type`, ignoring any `etag` field in it."""
    body = {k: v for k, v in job_type.items() if k != "etag"}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(encoded.encode("utf-8")).hexdigest()


def _label_from_name(name: str) -> str:
    return " ".join(word.capitalize() for word in name.replace("_", "-").split("-") if word)


def _check_enum(setting: dict[str, Any], field: str, allowed: tuple[str, ...]) -> None:
    value = setting.get(field)
    if value is not None and value not in allowed:
        raise JobTypeDefinitionError(
            f"setting {setting['key']!r}: {field} {value!r} is not one of {', '.join(allowed)}"
        )


def _setting(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise JobTypeDefinitionError(f"settings[{index}] is not an object")
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise JobTypeDefinitionError(f"settings[{index}] has no key")
    setting = {field: raw[field] for field in _SETTING_FIELDS if raw.get(field) is not None}
    if "type" not in setting:
        raise JobTypeDefinitionError(f"setting {key!r} has no type")
    _check_enum(setting, "type", SETTING_TYPES)
    _check_enum(setting, "subtype", SETTING_SUBTYPES)
    _check_enum(setting, "visible", SETTING_VISIBILITIES)
    choices = setting.get("choices")
    if choices is not None and not (isinstance(choices, list) and all(isinstance(c, str) for c in choices)):
        raise JobTypeDefinitionError(f"setting {key!r}: choices must be a list of strings")
    if "evalInfo" in setting:
        info = setting["evalInfo"]
        if not isinstance(info, dict):
            raise JobTypeDefinitionError(f"setting {key!r}: evalInfo must be an object")
        # Both fields are required on the wire; fill in the documented defaults.
        setting["evalInfo"] = {
            "showLinkButton": bool(info.get("showLinkButton", False)),
            "description": str(info.get("description", "")),
        }
    return setting


def available_job_type(name: str, definition: Any) -> dict[str, Any]:
    """The AvailableJobType dict (with etag) for a script's JOB_TYPE object.

    Raises `JobTypeDefinitionError` when the definition is unusable: not an object, a
    setting without key or type, duplicate keys, or values outside the schema's enums.
    """
    if not isinstance(definition, dict):
        raise JobTypeDefinitionError("JOB_TYPE is not an object")
    raw_settings = definition.get("settings", [])
    if not isinstance(raw_settings, list):
        raise JobTypeDefinitionError("JOB_TYPE.settings is not a list")
    settings = [_setting(raw, i) for i, raw in enumerate(raw_settings)]
    keys = [s["key"] for s in settings]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise JobTypeDefinitionError(f"duplicate setting keys: {', '.join(duplicates)}")

    label = definition.get("label")
    job_type: dict[str, Any] = {"name": name, "label": str(label) if label else _label_from_name(name)}
    if definition.get("description"):
        job_type["description"] = str(definition["description"])
    job_type["settings"] = settings
    job_type["etag"] = compute_etag(job_type)
    return job_type
