"""Quit: the question asked when stopping would interrupt the farm, and its answers.

Quitting stops what this program runs: the local Manager, this computer's worker. When other
workers are signed on to that Manager, jobs are active or queued, or this computer renders, Quit
asks first: keep the farm running in the tray (only where there is a tray; the windows close),
stop after the current tasks (no new task is handed out; the program ends when the running ones
are done, or at once from the waiting dialog), or stop now. With nothing going on it quits at once.

The dialogs are opened with `open()`, not `exec()`: their answer arrives through a future the
coroutine awaits, so no nested event loop runs inside the asyncio loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from app.ui.aio import settle

#: Quit's shortcut on every platform (QKeySequence.StandardKey.Quit is empty on Windows).
QUIT_SHORTCUT = QKeySequence("Ctrl+Q")
KEEP, AFTER_TASKS, NOW, CANCEL = "keep", "after-tasks", "now", "cancel"
T = TypeVar("T")


@dataclass(frozen=True)
class Activity:
    """What stopping would interrupt."""

    workers: tuple[str, ...] = ()  # other computers signed on to the local Manager
    jobs: int = 0                  # jobs active or queued on it
    tasks: int = 0                 # tasks running on any worker of it
    rendering_here: bool = False   # this computer's worker runs a task

    @property
    def busy(self) -> bool:
        return bool(self.workers or self.jobs or self.tasks or self.rendering_here)

    def describe(self) -> str:
        parts = []
        if self.workers:
            more = len(self.workers) - 3
            names = ", ".join(self.workers[:3]) + (f" and {more} more" if more > 0 else "")
            verb = "works" if len(self.workers) == 1 else "work"
            parts.append(f"{_count(len(self.workers), 'other computer')} {verb} for this farm ({names})")
        if self.jobs:
            verb = "is" if self.jobs == 1 else "are"
            parts.append(f"{_count(self.jobs, 'job')} {verb} waiting or rendering")
        if self.tasks:
            parts.append(f"{_count(self.tasks, 'task')} {'runs' if self.tasks == 1 else 'run'} now")
        if self.rendering_here:
            parts.append("this computer renders a task")
        return "; ".join(parts) + "."


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class QuitQuestion(QMessageBox):
    """Keep running in the tray / stop after current tasks / stop now (and Cancel)."""

    def __init__(self, activity: Activity, has_tray: bool, has_manager: bool, parent: QWidget | None = None):
        super().__init__(QMessageBox.Icon.Question, "Quit Tablao", "", parent=parent)
        self.setObjectName("quitQuestion")
        self.setText(f"<b>The farm is working.</b> {activity.describe()}")
        what = "the Manager and this computer's worker" if has_manager else "this computer's worker"
        lines = []
        if has_tray:
            lines.append("<b>Keep running in the tray</b>: the windows close; the farm goes on.")
        lines.append("<b>Stop after the current tasks</b>: no new task starts; Tablao quits when the "
                     "running ones are done.")
        lines.append(f"<b>Stop now</b>: {what} stop at once; unfinished tasks render again later.")
        self.setInformativeText("<br>".join(lines))
        self.choices: dict[QAbstractButton, str] = {}
        # One role for the three, so they stay in this order (from the mildest) on every platform.
        action = QMessageBox.ButtonRole.ActionRole
        if has_tray:
            self.choices[self.addButton("Keep running in the tray", action)] = KEEP
        self.choices[self.addButton("Stop after the current tasks", action)] = AFTER_TASKS
        self.choices[self.addButton("Stop now", action)] = NOW
        self.cancel = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.cancel)
        self.setEscapeButton(self.cancel)

    def button(self, choice: str):  # type: ignore[override]
        return next(b for b, c in self.choices.items() if c == choice)

    async def answer(self) -> str:
        """Show the question and return the choice (CANCEL when closed any other way)."""
        return await answer_of(self, lambda: self.choices.get(self.clickedButton(), CANCEL))


class WaitingForTasks(QMessageBox):
    """Says how many tasks still run while the farm stops after them; "Stop now" ends the wait."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(QMessageBox.Icon.Information, "Stopping after the current tasks", "", parent=parent)
        self.setObjectName("waitingForTasks")
        self.setInformativeText("No new task is handed out. Tablao quits when the running ones are done.")
        self.stop_now = self.addButton("Stop now", QMessageBox.ButtonRole.DestructiveRole)
        self.show_running(None)

    def show_running(self, tasks: int | None) -> None:
        if tasks is None:
            self.setText("Waiting for the running tasks…")
        else:
            self.setText(f"Waiting for {_count(tasks, 'running task')} to finish…")


async def answer_of(box: QMessageBox, result: Callable[[], T]) -> T:
    """Open `box` (no nested event loop) and return `result()` once it is answered or closed."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future = loop.create_future()
    box.finished.connect(lambda *_: settle(answered, result()))
    box.open()
    box.raise_()
    box.activateWindow()
    try:
        return await answered
    finally:
        box.hide()
        box.deleteLater()


async def wait_or_stop_now(box: WaitingForTasks, waiting: asyncio.Future) -> None:
    """Show `box` until `waiting` is done or the user presses Stop now (which cancels it)."""
    loop = asyncio.get_running_loop()
    pressed: asyncio.Future[None] = loop.create_future()
    box.finished.connect(lambda *_: settle(pressed, None))
    box.open()
    try:
        await asyncio.wait({waiting, pressed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not waiting.done():
            waiting.cancel()
        box.finished.disconnect()
        box.hide()
        box.deleteLater()
