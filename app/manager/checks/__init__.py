"""Checks of what a client hands the Manager, each answered in words a user can act on.

The fields of a request (`input_checks`), a candidate shared-storage folder (`storage_check`) and a
Blender executable (`blender_check`), the last two for the setup assistant.
"""
