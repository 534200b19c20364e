"""Tablao's Blender add-on: submit render jobs to a Tablao (or Flamenco v3) Manager.

A Blender 4.2+ extension (`blender_manifest.toml`, BAT as a bundled wheel) that also installs in
Blender 3.x as a legacy add-on (`bl_info`). `register` and `unregister` mirror each other; each
module owns one Blender concept (preferences, properties, operators, panels), and the HTTP client,
packing and pre-flight report import no more of bpy than they need.
"""

bl_info = {
    "name": "Tablao",
    "author": "Tablao developers",
    "version": (0, 1, 0),
    "blender": (3, 1, 0),
    "description": "Submit render jobs to a Tablao or Flamenco v3 render farm",
    "location": "Properties > Output > Tablao Render Farm",
    "category": "System",
    "support": "COMMUNITY",
}

if "bpy" in locals():  # F8 / script reload: re-import the submodules
    import importlib

    for _name in ("state", "comms", "job_types", "preflight", "packing", "submission", "preferences",
                  "properties", "operators", "panels"):
        if _name in locals():
            importlib.reload(locals()[_name])

import bpy  # noqa: E402

from . import operators, panels, preferences, properties  # noqa: E402

_MODULES = (preferences, properties, operators, panels)


def register() -> None:
    for module in _MODULES:
        for cls in module.classes:
            bpy.utils.register_class(cls)
    properties.register_props()
    operators.register_previews()


def unregister() -> None:
    operators.unregister_previews()
    properties.unregister_props()
    for module in reversed(_MODULES):
        for cls in reversed(module.classes):
            bpy.utils.unregister_class(cls)
    from .state import reset

    reset()
