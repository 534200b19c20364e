"""The folder layout of the main volume, created where missing.

    <root>/jobs, <root>/file-store      left to the Manager
    <root>/quick/<job>/                 independent jobs (`farm seed job`)
    <root>/releases/<release>/store/    the release's .blend files, one job each
    <root>/releases/<release>/out/<job>/######.png
    <root>/dist/<release>/              harvested, renamed frames
    <root>/archives/<release>.tar.gz
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.farm.errors import Refused, UsageError

_log = logging.getLogger(__name__)

TOP_FOLDERS = ("quick", "releases", "dist", "archives")
RELEASE_FILE = "release.json"
DEFAULT_NAMING = "<job>_<frame>.<ext>"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(name: str, what: str) -> str:
    """A release or job name: letters, digits, `.`, `_`, `-`, starting with a letter or digit."""
    if not _NAME.match(name) or ".." in name:
        raise UsageError(f"{what} {name!r} is not a valid name: use letters, digits, '.', '_' and '-'")
    return name


@dataclass(frozen=True, slots=True)
class Layout:
    """The main volume at `root`."""

    root: Path

    def ensure(self) -> list[Path]:
        """Create the top folders that are missing; returns those created."""
        made = []
        for name in TOP_FOLDERS:
            path = self.root / name
            if not path.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                made.append(path)
        return made

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    def release(self, name: str) -> Path:
        return self.releases / check_name(name, "release")

    def store(self, release: str) -> Path:
        return self.release(release) / "store"

    def out(self, release: str, job: str | None = None) -> Path:
        base = self.release(release) / "out"
        return base / check_name(job, "job") if job else base

    def dist(self, release: str) -> Path:
        return self.root / "dist" / check_name(release, "release")

    def archive(self, release: str) -> Path:
        return self.root / "archives" / f"{check_name(release, 'release')}.tar.gz"

    def quick(self, job: str) -> Path:
        return self.root / "quick" / check_name(job, "job")

    def release_names(self) -> list[str]:
        if not self.releases.is_dir():
            return []
        return sorted(p.name for p in self.releases.iterdir() if p.is_dir())

    def existing_release(self, name: str) -> Path:
        """The release's folder, or `Refused` naming the releases there are."""
        path = self.release(name)
        if not path.is_dir():
            known = ", ".join(self.release_names()) or "none"
            raise Refused(f"unknown release {name!r} under {self.releases} (releases: {known})")
        return path

    def blendfiles(self, release: str) -> list[Path]:
        return sorted(self.store(release).glob("*.blend"))

    def propose_release_name(self, now: datetime | None = None) -> str:
        """A date-based name not used yet: 2026-11-27, then 2026-11-27.2, ..."""
        base = (now or datetime.now()).strftime("%Y-%m-%d")
        name, n = base, 1
        while (self.releases / name).exists():
            n += 1
            name = f"{base}.{n}"
        return name

    def create_release(self, name: str) -> Path:
        path = self.release(name)
        (path / "store").mkdir(parents=True, exist_ok=True)
        (path / "out").mkdir(parents=True, exist_ok=True)
        return path

    # --- per-release settings -------------------------------------------------------------------
    def release_settings(self, name: str) -> dict[str, Any]:
        """`releases/<release>/release.json`: the naming rule and such; defaults when missing."""
        path = self.release(name) / RELEASE_FILE
        settings: dict[str, Any] = {"naming": DEFAULT_NAMING}
        if path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise Refused(f"{path} is not readable JSON: {exc}") from exc
            if isinstance(loaded, dict):
                settings.update(loaded)
        return settings

    def save_release_settings(self, name: str, settings: dict[str, Any]) -> None:
        path = self.release(name) / RELEASE_FILE
        path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
