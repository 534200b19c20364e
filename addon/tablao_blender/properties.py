"""Per-scene submission properties (saved with the file): job name, type, priority, tag, site (at a hub),
paused, after job.

The chosen job type's own settings live in a PropertyGroup made from the Manager's job type
(`job_types.make_property_group`), registered at run time as `WindowManager.tablao_job_settings`.
"""

from __future__ import annotations

import bpy

from . import job_types
from .state import STATE

_ENUM_CACHE: list = []  # Blender needs enum item strings kept alive while shown


def _job_type_items(self, context):  # type: ignore[no-untyped-def]
    items = [(t.name, t.label, t.description or "") for t in STATE.job_types.values()]
    _ENUM_CACHE[:] = items or [("", "(refresh from the Manager)", "")]
    return _ENUM_CACHE


_TAG_CACHE: list = []
ALL_WORKERS = "-"  # Blender enums need a non-empty identifier; sent as no tag


def _tag_items(self, context):  # type: ignore[no-untyped-def]
    items = [(ALL_WORKERS, "All Workers", "Any worker may run the job")]
    items += [(t.get("id", ""), t.get("name", ""), t.get("description", "")) for t in STATE.worker_tags]
    _TAG_CACHE[:] = items
    return _TAG_CACHE


_SITE_CACHE: list = []
HUB_CHOOSES = "-"  # sent as no site: the hub chooses


def _site_items(self, context):  # type: ignore[no-untyped-def]
    items = [(HUB_CHOOSES, "Hub Chooses", "The hub sends the job to the site that will start it soonest")]
    items += [(s["name"], s["name"] + ("" if s.get("online") else " (offline)"), str(s.get("state", "")))
              for s in STATE.sites]
    _SITE_CACHE[:] = items
    return _SITE_CACHE


def site_metadata(site: str) -> dict[str, str]:
    """The job metadata that names its site at a hub (`site`); none when the hub chooses."""
    return {"site": site} if site and site != HUB_CHOOSES else {}


def _job_type_changed(self, context):  # type: ignore[no-untyped-def]
    use_job_type(self.job_type)


def use_job_type(name: str) -> None:
    """Register the PropertyGroup of job type `name` as WindowManager.tablao_job_settings."""
    discard_job_type()
    job_type = STATE.job_types.get(name)
    if job_type is None:
        return
    cls = job_types.make_property_group(job_type)
    bpy.utils.register_class(cls)
    STATE.settings_class = cls
    bpy.types.WindowManager.tablao_job_settings = bpy.props.PointerProperty(type=cls)


def discard_job_type() -> None:
    if STATE.settings_class is not None:
        if hasattr(bpy.types.WindowManager, "tablao_job_settings"):
            del bpy.types.WindowManager.tablao_job_settings
        bpy.utils.unregister_class(STATE.settings_class)
        STATE.settings_class = None


class TABLAO_PG_submit(bpy.types.PropertyGroup):
    job_name: bpy.props.StringProperty(
        name="Job Name",
        default="{blend} {scene}",  # type: ignore[valid-type]
        description="Name of the job; {blend} and {scene} are filled in",
    )
    job_type: bpy.props.EnumProperty(
        name="Job Type",
        items=_job_type_items,  # type: ignore[valid-type]
        update=_job_type_changed,
    )
    priority: bpy.props.IntProperty(name="Priority", default=50, min=0, max=100)  # type: ignore[valid-type]
    worker_tag: bpy.props.EnumProperty(name="Worker Tag", items=_tag_items)  # type: ignore[valid-type]
    site: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Site", items=_site_items, description="Submitting to a hub: the site (network) that renders the job"
    )
    submit_paused: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Submit Paused", description="Submit the job paused instead of queued", default=False
    )
    after_job: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="After Job",
        default="",
        description="Render only once this job has completed: its id, or its name (the newest job of "
        "that name); empty: as soon as possible",
    )
    preview_first: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Preview Frames First",
        description="Render the first, last and middle frames before the rest, so a broken frame shows "
        "within minutes",
        default=True,
    )
    pause_on_preview_failure: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Pause If a Preview Fails",
        description="Pause the job when one of those first frames fails (you are told either way)",
        default=False,
    )
    project_root: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Project Folder",
        subtype="DIR_PATH",
        default="",
        description="Folder whose layout the packed job keeps; empty: the blend file's folder",
    )

    def resolved_job_name(self, context: bpy.types.Context) -> str:
        blend = bpy.path.display_name_from_filepath(bpy.data.filepath) or "untitled"
        return self.job_name.replace("{blend}", blend).replace("{scene}", context.scene.name).strip()


classes = (TABLAO_PG_submit,)


def register_props() -> None:
    bpy.types.Scene.tablao = bpy.props.PointerProperty(type=TABLAO_PG_submit)


def unregister_props() -> None:
    discard_job_type()
    del bpy.types.Scene.tablao
