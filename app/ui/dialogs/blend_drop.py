"""Which dropped things are .blend files: shared by the dashboard window and the submit dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData


def blend_paths(mime: QMimeData | None) -> list[Path]:
    """The local `.blend` files among a drag's URLs, in their order."""
    if mime is None or not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [p for p in paths if p.suffix.lower() == ".blend"]
