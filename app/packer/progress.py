"""Progress reporting of a pack: one immutable `Progress` value per update, pushed to a callback.

GUIs, CLIs and the Blender add-on all receive the same values; none of them is imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum


class Phase(StrEnum):
    HASHING = "hashing"
    CHECKING = "checking"  # asking the Manager which files it lacks
    UPLOADING = "uploading"
    CHECKOUT = "checkout"
    COPYING = "copying"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a pack stands. `bytes_total` is what this phase has to move (0 when unknown)."""

    phase: Phase
    bytes_done: int = 0
    bytes_total: int = 0
    files_done: int = 0
    files_total: int = 0
    current_file: str = ""
    round: int = 0  # upload round; deferred files are retried in later rounds

    @property
    def fraction(self) -> float:
        if self.bytes_total > 0:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.files_total > 0:
            return min(1.0, self.files_done / self.files_total)
        return 1.0 if self.phase is Phase.DONE else 0.0

    def but(self, **changes: object) -> Progress:
        return replace(self, **changes)  # type: ignore[arg-type]


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_progress: Progress) -> None:
    """The default callback."""
