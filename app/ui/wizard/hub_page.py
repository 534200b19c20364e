"""Page 7 (optional): "This Manager is part of a bigger farm": join a hub as one of its sites.

A studio over several networks runs one Manager per network and one hub where artists submit
(`tablao hub`). Here the lead gives the hub's address, this site's name there and the join token
`tablao hub add-site NAME` printed; they are checked as the Manager will read them. For an https://
hub the page reads the certificate the hub shows and asks the lead to compare its fingerprint with
what `tablao hub make-cert` printed; confirmed, it is pinned (`hub_fingerprint`). Apply (the review
page) writes `hub_url`, `hub_site`, `hub_token` to flamenco-manager.yaml through the Manager and
waits until the hub says this site is online. Left unticked, the Manager stands alone (and leaves a
hub it had joined).
"""

from __future__ import annotations

import asyncio
import html

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget, QWizardPage

from app.manager.hub_link.pinning import shown_fingerprint
from app.manager.hub_link.settings import LINK_KEYS, hub_link_settings
from app.manager.settings.config import ConfigError
from app.ui.aio import spawn
from app.ui.wizard.context import WizardContext
from app.ui.wizard.hub_join import current_hub_values

INTRO = ("A farm spread over several networks (home, studio, a rented data centre) runs one Manager in "
         "each and one <b>hub</b> that artists submit to. This Manager connects out to the hub, so it "
         "works behind a router or on a VPN; the hub sends it jobs and shows its jobs and workers.")


class HubPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("This Manager is part of a bigger farm")
        self.setSubTitle("Optional: join a hub, as one of its sites. Leave this off for a farm on one network.")
        intro = QLabel(INTRO, wordWrap=True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.joins = QCheckBox("This Manager is part of a bigger farm: connect it to a hub")
        self.joins.setObjectName("joinsHub")
        self.fields: dict[str, QLineEdit] = {}
        self.details = QWidget()
        form = QFormLayout(self.details)
        form.setContentsMargins(24, 0, 0, 0)
        for key, label, hint in (("hub_url", "Hub address:", "https://hub.example:8090/"),
                                 ("hub_site", "This site's name:", "paris"),
                                 ("hub_token", "Join token:", "printed by `tablao hub add-site NAME` on the hub")):
            field = QLineEdit(placeholderText=hint)
            field.setObjectName(key)
            field.textChanged.connect(self._changed)
            form.addRow(label, field)
            self.fields[key] = field
        self.fields["hub_token"].setEchoMode(QLineEdit.EchoMode.Password)
        self.certificate = QLabel(wordWrap=True)
        self.certificate.setObjectName("hubCertificate")
        self.certificate.setTextFormat(Qt.TextFormat.RichText)
        self.certificate.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.matches = QCheckBox("This is the fingerprint the hub printed")
        self.matches.setObjectName("fingerprintMatches")
        self.matches.toggled.connect(lambda _on: self.completeChanged.emit())
        form.addRow(self.certificate)
        form.addRow(self.matches)
        self.problem = QLabel(wordWrap=True)
        self.problem.setObjectName("hubProblem")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(8)
        layout.addWidget(self.joins)
        layout.addWidget(self.details)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self.joins.toggled.connect(self._changed)
        self.fingerprint = ""  # what the https hub at `_fingerprint_of` showed
        self._fingerprint_of = ""
        self._loaded = False
        self._debounce = QTimer(self, singleShot=True, interval=400)
        self._debounce.timeout.connect(self._read_certificate)
        self._task: asyncio.Task | None = None
        self._changed()

    # --- filling -------------------------------------------------------------------------------------
    def initializePage(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        values = {key: (self.ctx.hub or {}).get(key, "") for key in LINK_KEYS}
        if any(values.values()):
            self._fill(values)
        elif self.ctx.client is not None:  # reopened: start from what the Manager has
            spawn(self._load())

    async def _load(self) -> None:
        try:
            values = await current_hub_values(self.ctx.client) if self.ctx.client is not None else {}
        except Exception:  # noqa: BLE001 - a Manager that cannot say: the page starts empty
            return
        if any(values.values()) and not self.joins.isChecked():
            self._fill(values)

    def _fill(self, values: dict[str, str]) -> None:
        for key, field in self.fields.items():
            field.setText(values.get(key, ""))
        if values.get("hub_fingerprint"):
            self.fingerprint = values["hub_fingerprint"]
            self._fingerprint_of = values.get("hub_url", "")
        self.joins.setChecked(any(values.get(key) for key in ("hub_url", "hub_site", "hub_token")))
        if self.fingerprint and self._fingerprint_of == self.fields["hub_url"].text().strip():
            self.matches.setChecked(True)
        self._changed()

    # --- checking ------------------------------------------------------------------------------------
    def values(self) -> dict[str, str]:
        """The settings this page saves: all empty when the Manager stands alone."""
        if not self.joins.isChecked():
            return {key: "" for key in LINK_KEYS}
        out = {key: field.text().strip() for key, field in self.fields.items()}
        out["hub_fingerprint"] = self.fingerprint if self.https else ""
        return out

    @property
    def https(self) -> bool:
        return self.fields["hub_url"].text().strip().startswith("https://")

    def problem_words(self) -> str:
        if not self.joins.isChecked():
            return ""
        if not any(field.text().strip() for field in self.fields.values()):
            return "Give the hub's address, this site's name there and the join token the hub printed."
        try:
            hub_link_settings({k: v for k, v in self.values().items() if k != "hub_fingerprint"}, "the hub")
        except ConfigError as exc:
            return str(exc).removeprefix("the hub: ")
        return ""

    def _changed(self, *_args) -> None:
        joins = self.joins.isChecked()
        self.details.setEnabled(joins)
        words = self.problem_words()
        self.problem.setText(words)
        url = self.fields["hub_url"].text().strip()
        show_certificate = joins and not words and self.https
        self.certificate.setVisible(show_certificate)
        self.matches.setVisible(show_certificate)
        if show_certificate and url != self._fingerprint_of:
            self.fingerprint, self._fingerprint_of = "", ""
            self.matches.setChecked(False)
            self.certificate.setText("Reading the hub's certificate…")
            self._debounce.start()
        self.completeChanged.emit()

    def _read_certificate(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = spawn(self._certificate(self.fields["hub_url"].text().strip()))

    async def _certificate(self, url: str) -> None:
        try:
            found = await shown_fingerprint(url, timeout_s=10)
        except (OSError, TimeoutError, ValueError) as exc:
            self.certificate.setText(f"✘ Could not read the hub's certificate at {html.escape(url)}: "
                                     f"{html.escape(str(exc) or type(exc).__name__)}. Check the address, and "
                                     "that the hub runs.")
            return
        if url != self.fields["hub_url"].text().strip():
            return  # typed on since
        self.fingerprint, self._fingerprint_of = found, url
        self.certificate.setText(
            "The hub shows a certificate with this SHA-256 fingerprint. Compare it with what "
            "<code>tablao hub make-cert</code> printed on the hub; only that certificate will be accepted "
            f"from now on:<br><code><b>{found}</b></code>")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if not self.joins.isChecked():
            return True
        if self.problem_words():
            return False
        return not self.https or (bool(self.fingerprint) and self.matches.isChecked())

    def validatePage(self) -> bool:
        self.ctx.hub = self.values()
        return True
