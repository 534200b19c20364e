"""The Blender add-on (`tablao_blender/`) and its zip builder (`python -m addon.build`)."""
