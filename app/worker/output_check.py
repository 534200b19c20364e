"""The worker's own check before it writes: only under the folders the Manager lets this task write to.

The Manager refuses jobs whose output lies outside its output roots, and sends the roots (and the
folders under them that are off limits, the Shaman file store) with each task, as this worker's
platform spells them. The worker checks again on its own disk, where it can resolve links: a job
whose output folder is a link out of the shared storage, or a frame name that is an existing link
into the Shaman store, is refused here before anything is written.

A task from a Manager that sends no roots (Flamenco's) is not checked.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.api.models import AssignedTask


class OutputRefused(Exception):
    """The task would write where its Manager does not allow; the message says where and why."""


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def _under(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives on Windows
        return False


def check_output(task: AssignedTask, path: str | Path, what: str) -> None:
    """Raise `OutputRefused` unless `path` (after links) lies under one of the task's output roots."""
    if task.output_roots is None:
        return
    text = str(path)
    if not os.path.isabs(text):
        raise OutputRefused(f"{what} {text} is not an absolute path; this farm writes only to absolute paths")
    real = _real(text)
    for denied in task.output_denied:
        if _under(real, _real(denied)):
            raise OutputRefused(f"{what} {text} lies inside {denied}, where jobs may never write")
    if any(_under(real, _real(root)) for root in task.output_roots):
        return
    where = f" (it leads to {real})" if real != os.path.normcase(os.path.abspath(text)) else ""
    allowed = ", ".join(task.output_roots) or "none"
    raise OutputRefused(f"{what} {text}{where} is outside the folders this farm lets jobs write to: {allowed}")
