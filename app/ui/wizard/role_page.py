"""Page 1: what this computer is (Manager, Worker or both) and, for a Worker, its Manager."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

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
        form = QFormLayout()
        form.addRow("Manager URL:", self.manager_url)
        self.url_hint = QLabel("Type the address the Manager printed when it started "
                               "(finding it on the network automatically comes with Worker mode).")
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

    def role(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())

    def _update(self) -> None:
        worker_only = self.role() == "worker"
        self.manager_url.setEnabled(worker_only)
        self.url_hint.setVisible(worker_only)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if self.role() == "worker":
            url = self.manager_url.text().strip()
            return url.startswith(("http://", "https://")) and len(url) > 8
        return True

    def validatePage(self) -> bool:
        self.ctx.role = self.role()
        self.ctx.manager_url = self.manager_url.text().strip()
        return True
