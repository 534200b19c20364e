"""Open a job's output folder on this computer, or say why it cannot be opened.

The folder comes from the job's settings, spelled for this computer through the Manager's
two-way variables (`app.ui.job_output`); whether it exists is asked off the UI thread (a network
share can take its time to answer), and the system's file manager opens it.
"""

from __future__ import annotations

import asyncio
import os

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from app.ui.dashboard import Dashboard
from app.ui.error_dialog import show_error
from app.ui.job_output import local_output_folder
from app.ui.models.job_row import JobRow


async def output_folder_here(dashboard: Dashboard, row: JobRow) -> str:
    """The job's output folder as this computer reaches it ("" when the job names none)."""
    settings = row.job.settings
    if not settings:  # a row from an older Manager's event: ask for the job itself
        settings = (await dashboard.connection_for(row).client.job(row.job.id)).settings
    variables = await dashboard.variables_here(row)
    return local_output_folder(settings, variables)


async def open_output_folder(parent: QWidget | None, dashboard: Dashboard, row: JobRow) -> bool:
    """Open the folder in the file manager; True when it was handed to it."""
    try:
        folder = await output_folder_here(dashboard, row)
    except Exception as exc:  # noqa: BLE001 - the Manager's words
        show_error(parent, "Could not find the output folder", exc)
        return False
    name = row.job.name
    if not folder:
        show_error(parent, "No output folder", f"Job {name} names no output folder.")
        return False
    if not await asyncio.to_thread(os.path.isdir, folder):
        show_error(parent, "Output folder not found",
                   f"{folder} does not exist on this computer: the job has written nothing there yet, "
                   "or the farm's storage is not reachable here (see the Manager's variables).")
        return False
    return open_url(QUrl.fromLocalFile(folder))


def open_url(url: QUrl) -> bool:
    """Hand a URL to the desktop (tests replace this)."""
    return QDesktopServices.openUrl(url)
