"""The question asked when the local Manager's port is taken at start: another port, or quit.

A busy port is a question, not a crash: the next free port is proposed (written to the Manager's
config file when taken; workers and artists then need the new address), and what holds the port
is named when the system can tell. With `--listen` on the command line only Quit is offered: the
command line decides the address.
"""

from __future__ import annotations

import asyncio
import html

from PySide6.QtWidgets import QMessageBox, QWidget

from app.common.ports import PortInUse, next_free_port
from app.ui.quitting import answer_of


class PortBusyQuestion(QMessageBox):
    def __init__(self, exc: PortInUse, proposed: int | None, parent: QWidget | None = None):
        super().__init__(QMessageBox.Icon.Warning, "Tablao's port is taken", "", parent=parent)
        self.setObjectName("portBusyQuestion")
        self.setText(f"<b>The Manager cannot start: {html.escape(exc.strerror or str(exc))}.</b>")
        if proposed is not None:
            self.setInformativeText(f"Tablao can listen on port {proposed} instead. Workers and artists "
                                    f"then connect to port {proposed}: give them the new address. Or quit, "
                                    "stop the other program and start Tablao again.")
        else:
            self.setInformativeText("Stop the other program and start Tablao again, or start it with another "
                                    "port (tablao manager --listen :PORT).")
        accept = QMessageBox.ButtonRole.AcceptRole
        self.use = self.addButton(f"Use port {proposed}", accept) if proposed else None
        self.quit = self.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        self.proposed = proposed


async def ask_other_port(exc: PortInUse, can_change: bool, parent: QWidget | None = None) -> int | None:
    """The port to use instead of `exc.port`, or None to quit."""
    proposed = await asyncio.to_thread(next_free_port, exc.host, exc.port) if can_change else None
    box = PortBusyQuestion(exc, proposed, parent)
    return await answer_of(box, lambda: box.proposed if box.use is not None and box.clickedButton() is box.use
                           else None)
