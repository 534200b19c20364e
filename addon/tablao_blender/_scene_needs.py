"""What a scene needs of the worker that renders it, read inside Blender: the job's `requirements`.

Runs INSIDE Blender on the submitter's computer, like `scene_policy.py`: in the probe `tablao submit`
and the desktop dialog start (`blender_probe.py` loads this file by its path), and in the Blender
add-on, which ships a copy (`addon/build.py` vendors it as `_scene_needs.py`). So: the standard
library only, `bpy` imported inside the functions, no `app` imports.

- `read_needs(scene)`: the render engine, resolution, samples; for Cycles the device (CPU or GPU)
  and, for GPU, the compute backend of the Blender that reads it (a user preference, not part of the
  file: the add-on gives the artist's own, the probe's factory settings give none, so "any GPU"); the
  Blender that saved the file (`bpy.data.version`, major.minor: the file records no patch number);
  and the peak memory of the last local render, where it was recorded.
- Blender does not keep a render's peak memory in the .blend (only its stamp can write it into the
  rendered image), and its `render_stats` handlers get no stats text to read it from (Blender 3.4
  calls them with no arguments of use). So the peak is read only where someone recorded it: the
  scene's custom property `PEAK_PROPERTY` (bytes, as a float: Blender's integer properties stop at
  2 GiB), which a studio's pipeline may set after a local render. Without it `memory_peak` is left
  out rather than guessed.
- `needs_words(needs)`: the same in words for the artist ("Cycles on a GPU (OptiX), Blender 4.2 or
  newer"), for the add-on's pre-flight, the desktop dialog and `tablao submit`.
"""

from __future__ import annotations

from typing import Any

#: The scene's custom property holding the peak memory (bytes) of its last local render.
PEAK_PROPERTY = "tablao_render_peak_memory"
BACKENDS = ("CUDA", "OPTIX", "HIP", "METAL", "ONEAPI")
BACKEND_NAMES = {"CUDA": "CUDA", "OPTIX": "OptiX", "HIP": "HIP", "METAL": "Metal", "ONEAPI": "oneAPI"}


def compute_backend() -> str | None:
    """The Cycles compute backend this Blender's preferences choose, or None (none chosen, no Cycles)."""
    import bpy

    addon = bpy.context.preferences.addons.get("cycles")
    backend = getattr(getattr(addon, "preferences", None), "compute_device_type", None)
    return backend if backend in BACKENDS else None


def read_needs(scene: Any) -> dict[str, Any]:
    """The `requirements` object of a job rendering `scene` (keys with no value left out)."""
    import bpy

    render = scene.render
    needs: dict[str, Any] = {
        "engine": str(render.engine),
        "resolution_x": int(render.resolution_x),
        "resolution_y": int(render.resolution_y),
        "resolution_percentage": int(render.resolution_percentage),
    }
    major, minor = tuple(bpy.data.version)[:2]
    if major > 0:  # a file never saved has no version of its own
        needs["blender_version"] = f"{major}.{minor}"
    if render.engine == "CYCLES" and getattr(scene, "cycles", None) is not None:
        needs["device"] = str(scene.cycles.device)
        needs["samples"] = int(scene.cycles.samples)
        if needs["device"] == "GPU":
            backend = compute_backend()
            if backend:
                needs["gpu_backend"] = backend
    elif getattr(scene, "eevee", None) is not None and render.engine.startswith("BLENDER_EEVEE"):
        needs["samples"] = int(scene.eevee.taa_render_samples)
    peak = scene.get(PEAK_PROPERTY)
    if isinstance(peak, (int, float)) and not isinstance(peak, bool) and peak > 0:
        needs["memory_peak"] = int(peak)
    return needs


def needs_words(needs: dict[str, Any]) -> str:
    """"Cycles on a GPU (OptiX), Blender 4.2 or newer, 6.0 GiB of memory"; "" for no needs."""
    parts = []
    engine = str(needs.get("engine") or "").replace("BLENDER_", "").replace("_", " ").title()
    if needs.get("device") == "GPU":
        backend = needs.get("gpu_backend")
        parts.append(f"{engine or 'Cycles'} on a GPU" + (f" ({BACKEND_NAMES.get(backend, backend)})" if backend else ""))
    elif engine:
        parts.append(f"{engine} on the CPU" if needs.get("device") == "CPU" else engine)
    if needs.get("blender_version"):
        parts.append(f"Blender {needs['blender_version']} or newer")
    if needs.get("memory_peak"):
        parts.append(f"{needs['memory_peak'] / 1024**3:.1f} GiB of memory")
    return ", ".join(parts)
