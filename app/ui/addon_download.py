"""Help ▸ Get the Blender add-on…: a Manager's add-on zip, its address filled in, saved where the user says.

The download is network I/O on the event loop and the file is written in a thread, so the window keeps
drawing; the zip is bounded by `ManagerClient.blender_addon`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from app.api.client import ManagerClient
from app.api.errors import ClientError
from app.ui.error_dialog import show_error

HOW_TO_INSTALL = ("In Blender: Edit ▸ Preferences ▸ Add-ons ▸ Install… (Blender 4.2 and later: the ▾ menu, "
                  "Install from Disk…), pick this file and tick “Tablao”. Its Manager URL is already set to "
                  "{url}.")


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def save_addon(client: ManagerClient, path: Path) -> Path:
    """Download the Manager's add-on (legacy kind: Blender 3.x and 4.x) and write it to `path`."""
    data = await client.blender_addon("addon")
    await asyncio.to_thread(_write, path, data)
    return path


def _suggested_path() -> Path:
    downloads = Path.home() / "Downloads"
    return (downloads if downloads.is_dir() else Path.home()) / "tablao-addon.zip"


async def ask_and_save_addon(parent: QWidget, dashboard) -> Path | None:
    """Which Manager (when the dashboard watches several), where to save, then save and say how to install."""
    urls = list(dashboard.connections)
    if not urls:
        show_error(parent, "Get the Blender add-on", "The dashboard watches no Manager yet (File ▸ Watch "
                   "another Manager…).")
        return None
    url = urls[0]
    if len(urls) > 1:
        url, ok = QInputDialog.getItem(parent, "Get the Blender add-on", "From the Manager:", urls, 0, False)
        if not ok:
            return None
    name, _ = QFileDialog.getSaveFileName(parent, "Save the Blender add-on", str(_suggested_path()),
                                          "Zip files (*.zip)")
    if not name:
        return None
    try:
        path = await save_addon(dashboard.connections[url].client, Path(name))
    except (ClientError, OSError) as exc:
        show_error(parent, "Could not save the Blender add-on", exc)
        return None
    box = QMessageBox(QMessageBox.Icon.Information, "Blender add-on saved",
                      f"Saved {path}.\n\n" + HOW_TO_INSTALL.format(url=url), QMessageBox.StandardButton.Ok,
                      parent)
    box.setObjectName("addonSaved")
    box.open()
    return path
