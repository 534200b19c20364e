"""Page 6: the port other computers reach this Manager on, checked before anything listens there.

While the wizard asks, the Manager runs for its checks on 127.0.0.1 only, on a port the system
picks: nothing is open to the network. After Apply it listens on the port chosen here. A port
another program holds is said with what holds it when the system can tell, and the next free port
is proposed; the lead may type any other. The check is a forecast: Apply says so if the port was
taken in between, and Back leads here again.
"""

from __future__ import annotations

import asyncio
import html

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWizardPage

from app.common.ports import next_free_port, port_holder, port_is_free
from app.manager.settings.guidance import lan_addresses
from app.ui.aio import spawn
from app.ui.wizard.context import WizardContext


def probe(host: str, port: int) -> tuple[bool, str, str]:
    """(free, what holds it, a reason it cannot be used at all) for `host:port`; runs in a thread."""
    try:
        if port_is_free(host, port):
            return True, "", ""
    except OSError as exc:  # not "in use": a port this user may not open, an address not here
        return False, "", exc.strerror or str(exc)
    return False, port_holder(port), ""


class NetworkPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("How other computers reach this Manager")
        self.setSubTitle("Workers and the Blender add-on connect to it on a network port. Nothing is open to "
                         "the network until you apply this setup.")
        self.port = QSpinBox(minimum=1024, maximum=65535)
        self.port.setObjectName("listenPort")
        self.port.setMaximumWidth(120)
        self.result = QLabel()
        self.result.setObjectName("portCheck")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.address = QLabel()
        self.address.setObjectName("managerAddress")
        self.address.setWordWrap(True)
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Port:", self.port)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result)
        layout.addSpacing(8)
        layout.addWidget(self.address)
        layout.addStretch(1)
        self.checked: int | None = None  # the port the shown result is about
        self.free = False
        self._proposed_instead: tuple[int, str] | None = None  # (wanted port, its holder)
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(lambda: self._start_check(propose=False))
        self.port.valueChanged.connect(self._typed)
        self._task: asyncio.Task | None = None

    def initializePage(self) -> None:
        self.port.blockSignals(True)
        self.port.setValue(self.ctx.listen_port)
        self.port.blockSignals(False)
        if self.ctx.listen_given:
            self.port.setEnabled(False)
            self.free, self.checked = True, self.port.value()
            self.result.setText(f"This Manager listens on {html.escape(self.ctx.listen_given)}, as given on "
                                "the command line (<code>--listen</code>).")
            self._show_address()
            return
        self._start_check(propose=True)

    def _typed(self) -> None:
        self._proposed_instead = None
        self.free, self.checked = False, None
        self.completeChanged.emit()
        self._debounce.start()

    def _start_check(self, propose: bool) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = spawn(self._check(self.port.value(), propose))

    async def _check(self, port: int, propose: bool) -> None:
        host = self.ctx.listen_host
        self.result.setText("Checking the port…")
        if self.ctx.current_port and port == self.ctx.current_port:
            free, holder, why = True, "", ""
        else:
            free, holder, why = await asyncio.to_thread(probe, host, port)
        if not free and propose and not why:
            proposed = await asyncio.to_thread(next_free_port, host, port)
            if proposed is not None:
                self._proposed_instead = (port, holder)
                self.port.blockSignals(True)
                self.port.setValue(proposed)
                self.port.blockSignals(False)
                port, free = proposed, True
        self.free, self.checked = free, port
        self.result.setText(self._words(port, free, holder, why))
        self._show_address()
        self.completeChanged.emit()

    def _words(self, port: int, free: bool, holder: str, why: str) -> str:
        if free and self._proposed_instead is not None:
            wanted, by = self._proposed_instead
            by_text = f" by {html.escape(by)}" if by else " by another program"
            return (f"Port {wanted} is in use{by_text}, so Tablao proposes <b>{port}</b>, the next free "
                    "port. Type another port if you prefer.")
        if free and self.ctx.current_port == port:
            return f"✔ This Manager listens on port {port} now."
        if free:
            return f"✔ Port {port} is free."
        if why:
            return f"✘ Port {port} cannot be used here: {html.escape(why)}. Choose another port."
        by_text = f" by {html.escape(holder)}" if holder else " by another program"
        return f"✘ Port {port} is in use{by_text}. Choose another port, or stop that program first."

    def _show_address(self) -> None:
        host = self.ctx.listen_host
        shown = host if host not in ("", "0.0.0.0", "::") else lan_addresses()[0]
        url = f"http://{shown}:{self.port.value()}/"
        self.address.setText(f"Workers and artists will use <b>{html.escape(url)}</b>")

    def isComplete(self) -> bool:
        return self.free and self.checked == self.port.value()

    def validatePage(self) -> bool:
        self.ctx.listen_port = self.port.value()
        return True
