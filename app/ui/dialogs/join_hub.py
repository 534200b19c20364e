"""Mode ▸ Join a hub…: make this computer's Manager a site of a hub, or leave it.

The three settings a site needs (the hub's address, this site's name there, the join token
`tablao hub add-site` printed) are checked as the Manager will read them, with its words, before
anything is saved; saved, they go into the Manager's flamenco-manager.yaml and the Manager starts
again to open its link. Leaving clears all three.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout

from app.manager.hub_link.settings import hub_link_settings
from app.manager.settings.config import ConfigError, load_config, save_config

KEYS = ("hub_url", "hub_site", "hub_token")


def hub_link_values(config_path: Path) -> dict[str, str]:
    """The Manager's hub settings now ("" for each one not set)."""
    extra = load_config(config_path, write_if_missing=False).extra
    return {key: str(extra.get(key) or "") for key in KEYS}


def save_hub_link(config_path: Path, values: dict[str, str]) -> None:
    """Write the hub settings into the Manager's configuration (all empty: leave the hub)."""
    cfg = load_config(config_path, write_if_missing=False)
    for key in KEYS:
        if values.get(key):
            cfg.extra[key] = values[key]
        else:
            cfg.extra.pop(key, None)
    save_config(cfg)


class JoinHubDialog(QDialog):
    """`values()` are the settings to save once accepted; Save is offered only for usable ones."""

    def __init__(self, current: dict[str, str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Join a hub")
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for key, label, hint in (("hub_url", "Hub address", "https://hub.example:8090/"),
                                 ("hub_site", "This site's name", "paris"),
                                 ("hub_token", "Join token", "printed by `tablao hub add-site NAME`")):
            field = QLineEdit(current.get(key, ""), placeholderText=hint)
            field.setObjectName(key)
            field.textChanged.connect(self._check)
            form.addRow(label, field)
            self.fields[key] = field
        self.fields["hub_token"].setEchoMode(QLineEdit.EchoMode.Password)
        self.problem = QLabel(wordWrap=True)
        self.problem.setObjectName("problem")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Several networks, one farm: this computer's Manager connects out to the hub, "
                                "which sends it jobs and shows its jobs and workers. Leave all three empty to "
                                "leave the hub. The Manager starts again to apply this.", wordWrap=True))
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._check()

    def values(self) -> dict[str, str]:
        return {key: field.text().strip() for key, field in self.fields.items()}

    def _check(self) -> None:
        try:
            hub_link_settings(self.values(), "the hub settings")
            words = ""
        except ConfigError as exc:
            words = str(exc).removeprefix("the hub settings: ")
        self.problem.setText(words)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not words)
