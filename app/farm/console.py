"""What `farm` shows: human lines on stdout (or one JSON document with `--json`), progress bars on
stderr when it is a terminal, and the questions it asks before changing things."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from app.farm.errors import Refused

T = TypeVar("T")


class Console:
    def __init__(self, json_mode: bool = False, out: TextIO | None = None, err: TextIO | None = None,
                 stdin: TextIO | None = None):
        self.json_mode = json_mode
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin

    def say(self, text: str) -> None:
        """A line for people; nothing in `--json` mode (the JSON document says it all)."""
        if not self.json_mode:
            print(text, file=self.out, flush=True)

    def warn(self, text: str) -> None:
        print(f"farm: {text}", file=self.err, flush=True)

    def progress(self, items: Iterable[T], total: int, label: str) -> Iterator[T]:
        """Yield `items`, drawing a bar on stderr when it is a terminal (never in `--json` mode)."""
        show = not self.json_mode and total > 1 and _isatty(self.err)
        for done, item in enumerate(items, 1):
            yield item
            if show:
                width = 30
                filled = width * done // total
                self.err.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
                self.err.flush()
        if show:
            self.err.write("\n")
            self.err.flush()

    async def confirm(self, question: str, yes: bool) -> bool:
        """True with `--yes`; else ask on a terminal; refuse without one (scripts must say --yes)."""
        if yes:
            return True
        if not _isatty(self.stdin):
            raise Refused(f"{question} -- not asked without a terminal; add --yes to go ahead")
        answer = await asyncio.to_thread(self._ask, f"{question} [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    async def typed_confirm(self, word: str, given: str | None) -> bool:
        """The user must type `word` (or pass it as `given`, for scripts)."""
        if given is not None:
            return given == word
        if not _isatty(self.stdin):
            raise Refused(f"type {word!r} to confirm; without a terminal pass --confirm {word}")
        answer = await asyncio.to_thread(self._ask, f"This cannot be undone. Type {word!r} to go on: ")
        return answer.strip() == word

    def _ask(self, prompt: str) -> str:
        self.err.write(prompt)
        self.err.flush()
        return self.stdin.readline()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
