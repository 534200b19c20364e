"""The table of worker commands: command name → coroutine. An unknown name fails the task."""

from __future__ import annotations

from app.worker.commands import blender, ffmpeg, files, misc
from app.worker.commands.base import CommandFunc

COMMANDS: dict[str, CommandFunc] = {
    "blender-render": blender.blender_render,
    "frames-to-video": ffmpeg.frames_to_video,
    "exec": misc.exec_command,
    "echo": misc.echo,
    "sleep": misc.sleep,
    "make-directory": files.make_directory,
    "move-directory": files.move_directory,
    "copy-file": files.copy_file,
    "copy-directory": files.copy_directory,
}


def find_command(name: str) -> CommandFunc | None:
    """The coroutine implementing command `name`, or None when this worker does not know it."""
    return COMMANDS.get(name)
