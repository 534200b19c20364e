"""Job types from the Manager turned into Blender properties, and their `eval` settings evaluated.

One `PropertyGroup` class is made per job type when the artist picks it (`make_property_group`);
each setting becomes a Blender property with the type's label, description, default, choices and
min/max. A setting with an `eval` expression also gets an `<key>__override` toggle: off, its value is
the expression evaluated against the open scene with the names Flamenco's add-on offers (`bpy`,
`C`, `jobname`, `Path`, `abspath`, `last_n_dir_parts`, `settings`); on, the artist's value is sent.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePath
from typing import Any

from ._api.jobs import AvailableJobSetting, AvailableJobType

_log = logging.getLogger(__name__)

OVERRIDE_SUFFIX = "__override"
#: The settings the add-on itself fills in (never drawn, never evaluated).
FILLED_BY_ADDON = ("blendfile",)
_SUBTYPES = {
    "file_path": "FILE_PATH",
    "dir_path": "DIR_PATH",
    "file_name": "FILE_NAME",
    "hashed_file_path": "FILE_PATH",
}
_PROPARGS = {"min", "max", "soft_min", "soft_max", "step", "precision", "subtype"}


class EvalError(Exception):
    """A setting's `eval` expression failed; the message names the setting and the error."""


def label_of(setting: AvailableJobSetting) -> str:
    if isinstance(setting.label, str) and setting.label:
        return setting.label
    return setting.key.replace("_", " ").title()


def drawn_in_blender(setting: AvailableJobSetting) -> bool:
    """`visible` (default) and `submission` are drawn in Blender; `web` and `hidden` are not."""
    return (setting.visible or "visible") in ("visible", "submission") and setting.key not in FILLED_BY_ADDON


def property_for(setting: AvailableJobSetting) -> Any:
    """The `bpy.props` property for one setting."""
    import bpy

    kwargs: dict[str, Any] = {"name": label_of(setting), "description": str(setting.description or "")}
    for key, value in (setting.propargs or {}).items():
        if key in _PROPARGS:
            kwargs[key] = value
    default = setting.default
    if setting.type == "string" and setting.choices:
        items = [(c, c, "") for c in setting.choices]
        if default in setting.choices:
            kwargs["default"] = default
        kwargs.pop("subtype", None)
        return bpy.props.EnumProperty(items=items, **kwargs)
    if setting.type == "string":
        if setting.subtype in _SUBTYPES:
            kwargs["subtype"] = _SUBTYPES[setting.subtype]
        return bpy.props.StringProperty(default=str(default or ""), **kwargs)
    if setting.type == "int32":
        return bpy.props.IntProperty(default=int(default or 0), **kwargs)
    if setting.type == "float":
        return bpy.props.FloatProperty(default=float(default or 0.0), **kwargs)
    if setting.type == "bool":
        return bpy.props.BoolProperty(default=bool(default), **kwargs)
    raise ValueError(f"setting {setting.key!r} has unknown type {setting.type!r}")


def make_property_group(job_type: AvailableJobType) -> type:
    """A new PropertyGroup class (not yet registered) for this job type's settings."""
    import bpy

    annotations: dict[str, Any] = {}
    for setting in job_type.settings:
        if setting.key in FILLED_BY_ADDON:
            continue
        annotations[setting.key] = property_for(setting)
        if setting.eval:
            tip = setting.evalInfo.description if setting.evalInfo else ""
            annotations[setting.key + OVERRIDE_SUFFIX] = bpy.props.BoolProperty(
                name="Override",
                description=f"Use the value typed here instead of the automatic one ({tip or setting.eval})",
                default=False,
            )
    name = "TABLAO_PG_job_" + "".join(c if c.isalnum() else "_" for c in job_type.name)
    return type(name, (bpy.types.PropertyGroup,), {"__annotations__": annotations})


class _Settings:
    """What `settings` means in an `eval` expression: the values known so far, by attribute."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__["_values"] = values

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"no setting {key!r}") from None


def last_n_dir_parts(n: int, filepath: str | Path | None = None) -> PurePath:
    """The last `n` folder names of the blend file's folder, as a relative path (Flamenco's helper)."""
    import bpy

    path = Path(filepath or bpy.data.filepath)
    if n <= 0:
        return PurePath()
    parts = path.absolute().parent.parts[1:]  # drop the root/drive
    return PurePath(*parts[-n:]) if parts else PurePath()


def eval_names(context: Any, job_name: str, settings: dict[str, Any]) -> dict[str, Any]:
    import bpy

    return {
        "bpy": bpy,
        "C": context,
        "jobname": job_name,
        "Path": Path,
        "abspath": bpy.path.abspath,
        "last_n_dir_parts": last_n_dir_parts,
        "settings": _Settings(settings),
    }


def evaluate(expression: str, key: str, context: Any, job_name: str, settings: dict[str, Any]) -> Any:
    try:
        # Job types come from the artist's own Manager and are trusted, as in Flamenco's add-on.
        return eval(expression, eval_names(context, job_name, settings), {})  # noqa: S307
    except Exception as exc:
        raise EvalError(f'setting "{key}": {expression!r} failed: {exc}') from None


def _coerce(setting: AvailableJobSetting, value: Any) -> Any:
    if setting.type == "int32":
        return int(value)
    if setting.type == "float":
        return float(value)
    if setting.type == "bool":
        return bool(value)
    return str(value)


def collect_settings(
    job_type: AvailableJobType,
    props: Any,
    context: Any,
    job_name: str,
    defaults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings to submit, in the job type's order: typed values, or `eval` results unless overridden.

    `defaults`: values for string settings the artist left empty (the farm's output folder)."""
    settings: dict[str, Any] = {}
    defaults = defaults or {}
    for setting in job_type.settings:
        if setting.key in FILLED_BY_ADDON:
            continue
        overridden = bool(getattr(props, setting.key + OVERRIDE_SUFFIX, False))
        if setting.eval and not overridden:
            value = evaluate(setting.eval, setting.key, context, job_name, settings)
        elif props is not None and hasattr(props, setting.key):
            value = getattr(props, setting.key)
            if value == "" and defaults.get(setting.key):
                value = defaults[setting.key]
        elif setting.key in defaults:
            value = defaults[setting.key]
        elif setting.default is not None:
            value = setting.default
        else:
            continue
        settings[setting.key] = _coerce(setting, value)
    return settings


def preview_value(
    setting: AvailableJobSetting,
    props: Any,
    context: Any,
    job_name: str,
    job_type: AvailableJobType,
    defaults: dict[str, Any] | None = None,
) -> str:
    """The automatic value of an `eval` setting as text for the panel (or why it cannot be had)."""
    try:
        settings = collect_settings(_until(job_type, setting.key), props, context, job_name, defaults)
    except EvalError as exc:
        return f"error: {exc}"
    return str(settings.get(setting.key, ""))


def _until(job_type: AvailableJobType, key: str) -> AvailableJobType:
    index = next(i for i, s in enumerate(job_type.settings) if s.key == key)
    return AvailableJobType(job_type.name, job_type.label, job_type.settings[: index + 1], job_type.etag)
