"""Shaman settings: where the store and checkouts live, how checkouts link, and GC timing.

The Manager builds a `ShamanConfig` from its own configuration file (Flamenco's
`shaman:` section plus `shared_storage_path`); the Shaman package never reads files itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

HOUR = 3600.0


class LinkMode(StrEnum):
    """How checkout files refer to stored blobs.

    `AUTO` tries relative symlinks first and falls back to hard links, then copies, where the
    filesystem or OS refuses (Windows without developer mode, FAT/exFAT, cross-device).
    The other values force one mode, mostly for tests and odd filesystems.
    """

    AUTO = "auto"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    COPY = "copy"


@dataclass(slots=True)
class ShamanConfig:
    """Everything the Shaman needs; paths default to Flamenco's layout under the shared storage."""

    shared_storage: Path
    enabled: bool = True
    file_store: Path | None = None  # default: <shared_storage>/file-store
    checkout_root: Path | None = None  # default: <shared_storage>/jobs
    link_mode: LinkMode = LinkMode.AUTO
    gc_period: float = 24 * HOUR  # Flamenco's garbageCollect.period default
    gc_max_age: float = 31 * 24 * HOUR  # Flamenco's garbageCollect.maxAge default (744h)
    gc_first_delay: float = 30.0  # first GC shortly after start, as Flamenco does
    stale_upload_age: float = 6 * HOUR  # `.tmp` files older than this are abandoned uploads

    @property
    def file_store_path(self) -> Path:
        return self.file_store if self.file_store is not None else self.shared_storage / "file-store"

    @property
    def checkout_root_path(self) -> Path:
        return self.checkout_root if self.checkout_root is not None else self.shared_storage / "jobs"
