"""Page 1: what this computer is (Manager, Worker or both) and, for a Worker, its Manager."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from app.ui.aio import spawn
from app.ui.wizard.context import WizardContext

ROLE_TEXT = {
    "manager": ("Manager", "This computer runs the farm: it keeps the job queue, hands out work and "
                "serves the dashboard. Other computers render."),
    "worker": ("Worker", "This computer renders for a Manager elsewhere on the network."),
    "both": ("Manager and Worker", "A farm in one computer: it runs the Manager and renders too. "
             "Other workers can still join."),
}


class RolePage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("What is this computer?")
        self.setSubTitle("You can change this later from the Mode menu.")
        self.group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, (title, text) in ROLE_TEXT.items():
            button = QRadioButton(title)
            button.setObjectName(f"role_{key}")
            self.group.addButton(button)
            self.buttons[key] = button
            note = QLabel(text)
            note.setWordWrap(True)
            note.setIndent(24)
            layout.addWidget(button)
            layout.addWidget(note)
        self.manager_url = QLineEdit(placeholderText="http://render-server:8080/")
        self.manager_url.setObjectName("managerUrl")
        self.find_button = QPushButton("Find on the network")
        self.find_button.setObjectName("findManager")
        self.find_button.clicked.connect(lambda: spawn(self._find()))
        row = QHBoxLayout()
        row.addWidget(self.manager_url, 1)
        row.addWidget(self.find_button)
        form = QFormLayout()
        form.addRow("Manager URL:", row)
        self.url_hint = QLabel("Find a Manager that announces itself on this network (autodiscoverable), or "
                               "type the address it printed when it started.")
        self.url_hint.setWordWrap(True)
        layout.addSpacing(12)
        layout.addLayout(form)
        layout.addWidget(self.url_hint)
        layout.addStretch(1)
        self.buttons[ctx.role if ctx.role in self.buttons else "manager"].setChecked(True)
        self.manager_url.setText(ctx.manager_url)
        self.group.buttonToggled.connect(lambda *_: self._update())
        self.manager_url.textChanged.connect(lambda *_: self._update())
        self._update()

    async def _find(self) -> None:
        from app.common.discovery import find_manager

        self.find_button.setEnabled(False)
        self.url_hint.setText("Looking for a Manager on the network…")
        try:
            url = await find_manager(timeout_s=3.0)
        except Exception as exc:  # noqa: BLE001 - said on the page; typing the URL still works
            url, why = None, str(exc)
        else:
            why = ""
        finally:
            self.find_button.setEnabled(True)
        if url:
            self.manager_url.setText(url)
            self.ctx.manager_found_by = "discovery"
            self.url_hint.setText(f"Found the Manager at {url}.")
        else:
            self.url_hint.setText("No Manager answered" + (f" ({why})" if why else "") + ". Make sure it runs "
                                  "with `autodiscoverable: true`, or type its address.")

    def role(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())

    def _update(self) -> None:
        worker_only = self.role() == "worker"
        self.manager_url.setEnabled(worker_only)
        self.find_button.setEnabled(worker_only)
        self.url_hint.setVisible(worker_only)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if self.role() == "worker":
            url = self.manager_url.text().strip()
            return url.startswith(("http://", "https://")) and len(url) > 8
        return True

    def validatePage(self) -> bool:
        self.ctx.role = self.role()
        url = self.manager_url.text().strip()
        if url != self.ctx.manager_url and self.ctx.manager_found_by != "discovery":
            self.ctx.manager_found_by = "typed"
        self.ctx.manager_url = url
        return True
