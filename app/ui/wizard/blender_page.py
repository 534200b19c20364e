"""Page 3: which Blender renders. Found on PATH and in the usual places, each checked by running it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from app.ui.aio import spawn
from app.ui.wizard.context import WizardContext

SOURCES = {"path_envvar": "on PATH", "system_location": "installed", "file_association": "file association",
           "input_path": "chosen", "default": "default"}


class BlenderPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Which Blender renders?")
        self.setSubTitle("Each Blender found is run once with --version to check it.")
        # A handful of candidates at most: a list widget is the right size of tool here.
        self.found = QListWidget()
        self.found.setObjectName("blenderList")
        self.found.setMaximumHeight(160)
        self.found.currentItemChanged.connect(self._picked)
        self.path = QLineEdit(placeholderText="/path/to/blender")
        self.path.setObjectName("blenderPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        check = QPushButton("Check")
        check.clicked.connect(lambda: self._check(self.path.text().strip()))
        self.result = QLabel()
        self.result.setObjectName("blenderResult")
        self.result.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(check)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Found on this computer:"))
        layout.addWidget(self.found, 1)
        layout.addWidget(QLabel("Or another Blender:"))
        layout.addLayout(row)
        layout.addWidget(self.result)
        self.choice: dict[str, Any] = dict(ctx.blender)
        self._searched = False

    def initializePage(self) -> None:
        if not self._searched and self.ctx.client is not None:
            self._searched = True
            self.result.setText("Looking for Blender…")
            spawn(self._find())

    async def _find(self) -> None:
        assert self.ctx.client is not None
        try:
            found = await self.ctx.client.request("GET", "/api/v3/configuration/check/blender")
        except Exception as exc:  # noqa: BLE001
            self.result.setText(f"Could not look for Blender: {exc}. Type its path and press Check.")
            return
        self.found.clear()
        for cand in found or []:
            where = SOURCES.get(cand.get("source", ""), cand.get("source", ""))
            label = f"{cand.get('path') or cand.get('input')} — {where}: {cand.get('cause', '')}"
            item = QListWidgetItem(("✔ " if cand.get("is_usable") else "✘ ") + label)
            item.setData(Qt.ItemDataRole.UserRole, cand)
            self.found.addItem(item)
        usable = [i for i in range(self.found.count())
                  if self.found.item(i).data(Qt.ItemDataRole.UserRole).get("is_usable")]
        if usable:
            self.found.setCurrentRow(usable[0])
        else:
            self.result.setText("No Blender was found. Install Blender, or type the path of its executable "
                                "and press Check.")

    def _picked(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is None:
            return
        cand = item.data(Qt.ItemDataRole.UserRole)
        self._use(cand)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Blender executable")
        if path:
            self.path.setText(path)
            self._check(path)

    def _check(self, path: str) -> None:
        if path and self.ctx.client is not None:
            self.result.setText(f"Checking {path}…")
            spawn(self._run_check(path))

    async def _run_check(self, path: str) -> None:
        assert self.ctx.client is not None
        try:
            cand = await self.ctx.client.request("POST", "/api/v3/configuration/check/blender", {"path": path})
        except Exception as exc:  # noqa: BLE001
            self.result.setText(f"Could not check {path}: {exc}")
            return
        self._use(cand)

    def _use(self, cand: dict[str, Any]) -> None:
        if cand.get("is_usable"):
            self.choice = cand
            self.result.setText(f"✔ Workers will run {cand.get('path') or cand.get('input')} ({cand.get('cause', '')}).")
        else:
            self.choice = {}
            self.result.setText(f"✘ {cand.get('input', '')}: {cand.get('cause', '')}. Pick another Blender, "
                                "or give the full path of the Blender executable.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(self.choice.get("is_usable"))

    def validatePage(self) -> bool:
        self.ctx.blender = self.choice
        return True
