"""The setup wizard: role, storage, Blender, variables, review and apply, then a test render."""
