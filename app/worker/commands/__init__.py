"""Worker commands: the things a task step can do."""
