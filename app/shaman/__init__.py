"""Shaman: a content-addressed file store with per-job checkouts (independent of the Manager).

Public entry points: `Shaman` (facade, `async run()` for periodic GC), `ShamanConfig`,
`LinkMode`, and `add_shaman_routes` (in `app.shaman.web`, which imports aiohttp).
"""

from app.shaman.config import LinkMode, ShamanConfig
from app.shaman.service import Shaman

__all__ = ["LinkMode", "Shaman", "ShamanConfig"]
