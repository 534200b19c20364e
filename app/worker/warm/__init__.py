"""Warm Blender: a Blender process kept running with the file loaded, rendering task after task.

`request` turns a `blender-render` command line into a warm request (or the reason it must run
cold), `process` drives one Blender through the control script in `scripts/warm_control.py`, and
`pool` decides when that process is reused, reloaded, recycled or released.
"""
