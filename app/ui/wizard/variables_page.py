"""Page 4 (optional): how workers on other platforms reach Blender and the shared storage."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWizardPage

from app.api.meta import TablaoVariable, TablaoVariableValue
from app.ui.wizard.context import WizardContext

PLATFORMS = (("linux", "Linux"), ("windows", "Windows"), ("darwin", "macOS"))
STORAGE_VARIABLE = "storage"


class VariablesPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Workers on other platforms (optional)")
        self.setSubTitle("Leave a field empty when no worker of that platform joins the farm.")
        intro = QLabel("A Windows worker finds the shared storage at another path than a Linux one "
                       "(S:\\render instead of /mnt/render). Tablao translates paths both ways: jobs "
                       "submitted on one platform render on all of them.")
        intro.setWordWrap(True)
        form = QFormLayout()
        self.blender: dict[str, QLineEdit] = {}
        self.storage: dict[str, QLineEdit] = {}
        for key, name in PLATFORMS:
            edit = QLineEdit(placeholderText="blender.exe" if key == "windows" else "blender")
            edit.setObjectName(f"blender_{key}")
            self.blender[key] = edit
            form.addRow(f"Blender on {name}:", edit)
        for key, name in PLATFORMS:
            edit = QLineEdit()
            edit.setObjectName(f"storage_{key}")
            self.storage[key] = edit
            form.addRow(f"Shared storage on {name}:", edit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addStretch(1)

    def initializePage(self) -> None:
        from app.common.paths import current_platform

        here = current_platform()
        if self.ctx.blender and not self.blender[here].text():
            self.blender[here].setText(self.ctx.blender.get("path") or self.ctx.blender.get("input", ""))
        if self.ctx.storage_path and not self.storage[here].text():
            self.storage[here].setText(self.ctx.storage_path)

    def validatePage(self) -> bool:
        blender = {k: e.text().strip() for k, e in self.blender.items() if e.text().strip()}
        storage = {k: e.text().strip() for k, e in self.storage.items() if e.text().strip()}
        self.ctx.variables = {"blender": blender}
        if len(storage) > 1:  # a two-way variable only means something with two platforms
            self.ctx.variables[STORAGE_VARIABLE] = storage
        return True


def variables_payload(current: dict[str, TablaoVariable],
                      chosen: dict[str, dict[str, str]]) -> dict[str, TablaoVariable]:
    """Merge the wizard's choices into the Manager's variables (others are kept as they are)."""
    out = dict(current)
    for name, twoway in (("blender", False), (STORAGE_VARIABLE, True)):
        values = chosen.get(name) or {}
        if values:
            out[name] = TablaoVariable([TablaoVariableValue(v, platform=p) for p, v in values.items()],
                                       is_twoway=twoway)
    return out
