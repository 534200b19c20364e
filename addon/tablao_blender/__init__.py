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


def _modules() -> tuple:
    # Imported here, not at the top: the package's pure-Python modules (comms, job settings, packing,
    # the pre-flight report) stay importable without bpy, for scripts and tests outside Blender.
    from . import dashboard, operators, panels, preferences, properties

    return (preferences, properties, operators, panels, dashboard)


def register() -> None:
    import bpy

    modules = _modules()
    for module in modules:
        for cls in module.classes:
            bpy.utils.register_class(cls)
    modules[1].register_props()
    modules[2].register_previews()


def unregister() -> None:
    import bpy

    from .finder import reset as reset_finder
    from .state import reset

    reset_finder()
    modules = _modules()
    modules[2].unregister_previews()
    modules[1].unregister_props()
    for module in reversed(modules):
        for cls in reversed(module.classes):
            bpy.utils.unregister_class(cls)
    reset()
