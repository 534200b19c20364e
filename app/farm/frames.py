"""Frames: frame lists as text ("1-3,7"), the file a frame renders to, image checks, the naming rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from app.farm.errors import UsageError

#: Blender replaces `######` in the output path by the zero-padded frame number.
FRAME_DIGITS = 6
_PLACEHOLDER = re.compile(r"<(release|job|frame|ext)(?::(\d{1,2}))?>")


def parse_frames(text: str) -> list[int]:
    """'1-3, 7' -> [1, 2, 3, 7] (also Blender's '1..3'); `ValueError` when it does not parse."""
    frames: set[int] = set()
    for part in str(text).replace("..", "-").split(","):
        part = part.strip()
        if not part:
            continue
        first, sep, last = part.partition("-")
        start, end = int(first), int(last) if sep else int(first)
        if end < start or end - start > 1_000_000:
            raise ValueError(f"bad frame range {part!r}")
        frames.update(range(start, end + 1))
    return sorted(frames)


def format_ranges(frames: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3,7'."""
    parts: list[str] = []
    frames = sorted(set(frames))
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        parts.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    return ",".join(parts)


def frame_file(out_dir: Path, frame: int, extension: str) -> Path:
    return out_dir / f"{frame:0{FRAME_DIGITS}d}{extension}"


@dataclass(frozen=True, slots=True)
class FrameProblem:
    frame: int
    problem: str  # missing, empty, unreadable, flat


def check_frame(path: Path, frame: int, check_black: bool) -> FrameProblem | None:
    """None when the frame is a readable, non-empty image (and, with `check_black`, not one flat colour)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return FrameProblem(frame, "missing")
    if size == 0:
        return FrameProblem(frame, "empty")
    try:
        with Image.open(path) as image:
            image.load()
            if check_black and _flat(image):
                return FrameProblem(frame, "flat")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return FrameProblem(frame, "unreadable")
    return None


def _flat(image: Image.Image) -> bool:
    extrema = image.getextrema()
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    return all(low == high for low, high in bands)


@dataclass(frozen=True, slots=True)
class NamingRule:
    """How harvested frames are named: `<job>`, `<frame>` (`<frame:4>` for 4 digits), `<release>`,
    `<ext>` (the extension without its dot). Default `<job>_<frame>.<ext>`."""

    rule: str

    def __post_init__(self) -> None:
        if "<frame" not in self.rule:
            raise UsageError(f"naming rule {self.rule!r} lacks <frame>, so frames would overwrite each other")
        rest = _PLACEHOLDER.sub("", self.rule)
        if "<" in rest or ">" in rest or "/" in self.rule or "\\" in self.rule:
            raise UsageError(f"naming rule {self.rule!r}: use only <release>, <job>, <frame>, <frame:N>, "
                             "<ext> and plain text (no folders)")

    def name(self, release: str, job: str, frame: int, extension: str) -> str:
        def value(m: re.Match[str]) -> str:
            key, width = m.group(1), m.group(2)
            if key == "frame":
                return f"{frame:0{int(width) if width else FRAME_DIGITS}d}"
            return {"release": release, "job": job, "ext": extension.lstrip(".")}[key]
        return _PLACEHOLDER.sub(value, self.rule)
