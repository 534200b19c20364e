"""Shaman-specific API errors (subclasses of `app.api.errors.ApiError`, so any layer can map them)."""

from __future__ import annotations

from app.api.errors import ApiError


class UploadMismatch(ApiError):
    """The uploaded body does not match the announced checksum or size (417 Expectation Failed)."""

    status = 417


class MissingFiles(ApiError):
    """A checkout names files the store does not have (424 Failed Dependency)."""

    status = 424

    def __init__(self, missing: list[str]):
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        super().__init__(f"{len(missing)} file(s) not in the Shaman store: {shown}")
        self.missing = missing


class ShamanDisabled(ApiError):
    """Shaman is switched off on this Manager (503, as Flamenco answers)."""

    status = 503

    def __init__(self) -> None:
        super().__init__("Shaman is disabled on this Manager")
