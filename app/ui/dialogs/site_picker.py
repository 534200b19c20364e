"""The submit dialog's Site field: at a hub, which of its sites renders the job (or the hub chooses).

Shown only when the dialog's Manager is a hub (it lists its sites; a Manager answers 404). The
choice goes out as job metadata `site`, as `tablao submit --site` sends it; an offline site can be
chosen (the job waits at the hub, saying so) and is marked so.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from app.api.client import ManagerClient

HUB_CHOOSES = "(the hub chooses)"
SITES_PATH = "/api/v3/tablao/hub/sites"


async def hub_sites(client: ManagerClient) -> list[dict[str, Any]]:
    """The hub's sites; [] when `client`'s Manager is no hub (or cannot say)."""
    try:
        answer = await client.request("GET", SITES_PATH)
    except Exception:  # noqa: BLE001 - a Manager has no such route: no Site field
        return []
    sites = answer.get("sites") if isinstance(answer, dict) else None
    return [s for s in sites or [] if isinstance(s, dict) and isinstance(s.get("name"), str)]


class SitePicker(QComboBox):
    """`metadata()`: the job metadata for the chosen site ({} when the hub chooses)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("hubSite")
        self.setToolTip("Submitting to a hub: the site (network) that renders the job")

    def fill(self, sites: list[dict[str, Any]], keep: str = "") -> None:
        current = keep or self.currentData() or ""
        self.clear()
        self.addItem(HUB_CHOOSES, "")
        for site in sites:
            self.addItem(site["name"] + ("" if site.get("online") else " (offline)"), site["name"])
            self.setItemData(self.count() - 1, str(site.get("state", "")), Qt.ItemDataRole.ToolTipRole)
        self.setCurrentIndex(max(0, self.findData(current)))

    def metadata(self) -> dict[str, str]:
        site = self.currentData() or ""
        return {"site": site} if site else {}
